"""SAM v1 behind the public model API, matching the official ``SamPredictor`` step by step."""

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from ..common.mask_postprocessing import upscale_from_padded_input
from ..segment_anything_model import LOW_RES_SIZE, MASK_PROMPT_LOGIT, ImageEncoding, Prompts, SegmentAnythingModel
from .sam_v1 import SamV1

# ImageNet statistics in 0-255 units, as the official ``Sam`` uses.
PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


def resized_shape(height: int, width: int, longest: int) -> tuple[int, int]:
    """The (h, w) with the longest side equal to ``longest``, rounded half up as the official
    ``ResizeLongestSide`` does."""
    scale = longest / max(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


class SamV1Model(SegmentAnythingModel):
    """SAM v1: the longest image side is resized to 1024, the rest padded with zeros."""

    version = "v1"

    def __init__(self, network: SamV1, size: str, device: torch.device) -> None:
        super().__init__(network, size, device)
        self.input_side = network.arch.image_size
        self.pixel_mean = torch.tensor(PIXEL_MEAN, device=device).view(3, 1, 1)
        self.pixel_std = torch.tensor(PIXEL_STD, device=device).view(3, 1, 1)
        self.dense_pe = network.prompt_encoder.dense_positional_encoding()

    def _encode(self, rgb_hw3: np.ndarray) -> ImageEncoding:
        return self._encode_batch([rgb_hw3])[0]

    def _encode_batch(self, rgbs_hw3: list[np.ndarray]) -> list[ImageEncoding]:
        inputs, input_sizes = zip(*(self._model_input(rgb) for rgb in rgbs_hw3))
        features = self.network.image_encoder(torch.stack(inputs))
        # A copy per image, so that an encoding kept alone does not hold the whole batch's memory.
        return [
            ImageEncoding(features[i : i + 1].clone(), None, rgb.shape[:2], input_hw)
            for i, (rgb, input_hw) in enumerate(zip(rgbs_hw3, input_sizes))
        ]

    def _model_input(self, rgb_hw3: np.ndarray) -> tuple[torch.Tensor, tuple[int, int]]:
        """The normalised, zero-padded (3, S, S) encoder input and the (h, w) of the image in it."""
        height, width = rgb_hw3.shape[:2]
        input_h, input_w = resized_shape(height, width, self.input_side)
        # PIL's bilinear filter on 8-bit data, as the official transform does: the features then
        # match the official ones exactly, not just closely.
        resized = np.asarray(Image.fromarray(rgb_hw3).resize((input_w, input_h), Image.BILINEAR))
        image = torch.from_numpy(resized.copy()).to(self.device).permute(2, 0, 1)
        normalised = (image - self.pixel_mean) / self.pixel_std
        padded = torch.nn.functional.pad(normalised, (0, self.input_side - input_w, 0, self.input_side - input_h))
        return padded, (input_h, input_w)

    def _decode(self, encoding: ImageEncoding, prompts: Prompts, multimask: bool):
        prompt_encoder = self.network.prompt_encoder
        tokens = []
        if prompts.points is not None:
            points = self._to_input_pixels(prompts.points, encoding)
            # The official encoder appends a padding token whenever no box is given.
            tokens.append(prompt_encoder.embed_points(points, prompts.labels.to(self.device), pad=prompts.box is None))
        if prompts.box is not None:
            corners = self._to_input_pixels(prompts.box.reshape(1, 2, 2), encoding)
            tokens.append(prompt_encoder.embed_boxes(corners.reshape(1, 4)))
        sparse = torch.cat(tokens, dim=1) if tokens else torch.empty(1, 0, prompt_encoder.embed_dim, device=self.device)
        mask = None if prompts.mask_logits is None else prompts.mask_logits.to(self.device)
        dense = prompt_encoder.embed_masks(mask)
        out = self.network.mask_decoder(encoding.features_bchw, self.dense_pe, sparse, dense)
        chosen = slice(1, None) if multimask else slice(0, 1)
        return out.masks_bkhw[:, chosen], out.iou_bk[:, chosen], None

    def _decode_point_batch(
        self, encoding: ImageEncoding, points_b2: torch.Tensor, mask_logits_b1hw: torch.Tensor | None, multimask: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        (height, width), (input_h, input_w) = encoding.image_size, encoding.input_size
        # The official generator keeps its float64 grid in float64 through the resize and the shift
        # to pixel centres; the position encoding rounds to float32 after that. MPS has no float64.
        dtype = torch.float32 if self.device.type == "mps" else torch.float64
        scale = torch.tensor([input_w / width, input_h / height], dtype=torch.float64)
        points_b12 = (points_b2.to(torch.float64) * scale).to(dtype).to(self.device)[:, None]
        labels_b1 = torch.ones(len(points_b2), 1, dtype=torch.int64, device=self.device)
        prompt_encoder = self.network.prompt_encoder
        sparse = prompt_encoder.embed_points(points_b12, labels_b1, pad=True)
        mask = None if mask_logits_b1hw is None else mask_logits_b1hw.to(self.device, torch.float32)
        dense = prompt_encoder.embed_masks(mask)
        out = self.network.mask_decoder(encoding.features_bchw, self.dense_pe, sparse, dense)
        chosen = slice(1, None) if multimask else slice(0, 1)
        return out.masks_bkhw[:, chosen], out.iou_bk[:, chosen]

    def _to_input_pixels(self, xy_bn2: torch.Tensor, encoding: ImageEncoding) -> torch.Tensor:
        """Image pixels -> pixels of the resized image, in float64 then float32 as the official
        transform computes them in numpy."""
        (height, width), (input_h, input_w) = encoding.image_size, encoding.input_size
        scale = xy_bn2.new_tensor([input_w / width, input_h / height])
        return (xy_bn2 * scale).to(torch.float32).to(self.device)

    def _upscale(self, logits_bkhw: torch.Tensor, encoding: ImageEncoding) -> torch.Tensor:
        return upscale_from_padded_input(logits_bkhw, self.input_side, encoding.input_size, encoding.image_size)

    def _mask_to_low_res(self, logits_b1hw: torch.Tensor, encoding: ImageEncoding) -> torch.Tensor:
        # The low-res frame covers the padded square input: the mask goes where the resized
        # image lies in it, and the padding is background.
        input_h, input_w = encoding.input_size
        resized = F.interpolate(logits_b1hw, size=(input_h, input_w), mode="bilinear", align_corners=False, antialias=True)
        padding = (0, self.input_side - input_w, 0, self.input_side - input_h)
        padded = F.pad(resized, padding, value=-MASK_PROMPT_LOGIT)
        return F.interpolate(padded, size=(LOW_RES_SIZE, LOW_RES_SIZE), mode="bilinear", align_corners=False, antialias=True)

    def _upscale_steps(self, encoding: ImageEncoding) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        side = self.input_side
        return [((side, side), encoding.input_size), (encoding.image_size, encoding.image_size)]

    def _architecture_dict(self) -> dict:
        return self.network.arch.to_dict()
