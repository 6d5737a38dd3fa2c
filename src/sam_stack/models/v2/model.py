"""SAM v2 / v2.1 behind the public model API, matching the official ``SAM2ImagePredictor`` built
by ``build_sam2`` with its defaults, step by step.

Encoding: the image is stretched to the model's input (no padding, see ``preprocessing``), the
Hiera encoder makes three feature levels, the two finer ones are projected by the decoder's
``conv_s0`` / ``conv_s1``, and ``no_mem_embed`` is added to the coarsest (a single image is a
frame with no memory to attend to).

Prompts: points are divided by the image's own width and height and multiplied by the input
size, so they land on the same spot of the stretched image. A box becomes two corner points
labelled 2 and 3, placed before the points; as the official predictor never gives the prompt
encoder a box, a padding point is appended whenever there is any point or box. A mask prompt
goes through the prompt encoder's mask branch.

Outputs: the decoder's four candidates are narrowed to three (``multimask=True``) or to one:
the single-mask candidate if it is stable, else the best multi-mask one (``mask_selection``).
Masks are the unclamped low-resolution logits upscaled straight to the image size and
thresholded at 0; ``Prediction.logits`` are clamped to [-32, 32], as the official predictor
returns them; ``Prediction.object_score`` is the decoder's object-presence logit.

Input size (``model.input_size``, see ``input_size``; 1024 x 1024 by default, as the official
predictor): at another input size (h, w) the feature grid is (h / 16, w / 16), so the prompt
encoder's dense position encoding and "no mask" embedding are made for that grid, and the
decoder's low-resolution logits are (h / 4, w / 4). Masks are made from those native logits.
``Prediction.logits`` keep the public contract's 256 x 256 (a stretched view of the whole image,
like the official ones): native logits of another size are resized to it (bilinear), and
``mask_logits`` given back are resized to the native size (bilinear with antialiasing, as the
official ``SAM2Base`` resizes mask prompts), so refining is exact at 1024 and close otherwise.
The official predictor at the same input size gives the same masks (its ``image_size`` option;
its fixed ``_bb_feat_sizes`` must be changed to match).
"""

import numpy as np
import torch
from torch.nn import functional as F

from ..common.mask_postprocessing import upscale_from_square_input
from ..common.prompt_encoder import BOX_BOTTOM_RIGHT, BOX_TOP_LEFT
from ..segment_anything_model import LOW_RES_SIZE, ImageEncoding, Prompts, SegmentAnythingModel
from .input_size import InputSize, checked_input_size, input_size_for
from .mask_selection import select_masks
from .preprocessing import to_model_input
from .sam_v2 import SamV2, SamV2ImageFeatures

# The official predictor clamps the low-resolution logits it returns to this range.
LOGIT_LIMIT = 32.0


class SamV2Model(SegmentAnythingModel):
    """SAM v2 or v2.1 (``version``), one of the four Hiera sizes (``size``).

    Settings beyond the public contract, both applying to images encoded afterwards:
    ``input_size`` (see the property) and ``use_bfloat16`` (False by default): run the image
    encoder under bfloat16 autocast, the prompt encoder and decoder staying in float32 (see
    the module docstring for its speed and agreement).
    """

    def __init__(self, network: SamV2, size: str, device: torch.device) -> None:
        super().__init__(network, size, device)
        self.version = network.arch.version
        self._size_multiple = network.arch.image_encoder.input_size_multiple
        self._input_size = checked_input_size(network.arch.image_size, self._size_multiple)
        self._dense_pe: dict[tuple[int, int], torch.Tensor] = {}
        self.use_bfloat16 = False

    @property
    def input_size(self) -> tuple[int, int] | str:
        """(h, w) the encoder resizes every image to, or ``"image"`` (each image's own size,
        rounded up to multiples of 32). Set it to an int S (S x S), a pair, or ``"image"``;
        it applies to images encoded afterwards. Raises :class:`~sam_stack.errors.ImageError`
        for a size the encoder cannot take."""
        return self._input_size

    @input_size.setter
    def input_size(self, setting: InputSize) -> None:
        self._input_size = checked_input_size(setting, self._size_multiple)

    def _encode(self, rgb_hw3: np.ndarray) -> ImageEncoding:
        return self._encode_batch([rgb_hw3])[0]

    def _encode_batch(self, rgbs_hw3: list[np.ndarray]) -> list[ImageEncoding]:
        input_sizes = [input_size_for(self._input_size, rgb.shape[:2], self._size_multiple) for rgb in rgbs_hw3]
        if len(set(input_sizes)) > 1:
            # Images resized to their own, different sizes cannot share one encoder pass.
            return [self._encode_batch([rgb])[0] for rgb in rgbs_hw3]
        features = self.encode_features(rgbs_hw3, input_sizes[0])
        # SAM2ImagePredictor adds the "no memory" embedding to the image embedding of every image.
        embeddings_bchw = features.features_bchw + self.network.no_mem_embed.view(1, -1, 1, 1)
        # A copy per image, so that an encoding kept alone does not hold the whole batch's memory.
        return [
            ImageEncoding(
                embeddings_bchw[i : i + 1].clone(),
                None if features.high_res_features is None else tuple(level[i : i + 1].clone() for level in features.high_res_features),
                rgb.shape[:2],
                input_sizes[0],
            )
            for i, rgb in enumerate(rgbs_hw3)
        ]

    @torch.inference_mode()
    def encode_features(
        self, rgbs_hw3: list[np.ndarray], input_hw: tuple[int, int], bfloat16: bool | None = None
    ) -> SamV2ImageFeatures:
        """What the image encoder makes of (H, W, 3) uint8 images, each resized to ``input_hw``,
        in one pass: float32 features of the batch, without the "no memory" embedding (an image
        adds it, a tracked frame fuses memories instead). ``bfloat16``: run the encoder under
        bfloat16 autocast (None: as ``use_bfloat16`` says)."""
        images_bchw = torch.cat([to_model_input(rgb, input_hw, self.device) for rgb in rgbs_hw3])
        autocast = self.use_bfloat16 if bfloat16 is None else bfloat16
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=autocast):
            features = self.network.encode_image(images_bchw)
        return features.to(torch.float32)

    def _decode(self, encoding: ImageEncoding, prompts: Prompts, multimask: bool):
        """-> native low-res logits (1, K, h / 4, w / 4) for input (h, w), unclamped; IoU (1, K);
        object-presence logit."""
        sparse = self._sparse_tokens(prompts, encoding)
        mask = None if prompts.mask_logits is None else self._native_mask(prompts.mask_logits, encoding)
        logits_bkhw, iou_bk, object_score_b1 = self._run_decoder(encoding, sparse, mask, multimask)
        return logits_bkhw, iou_bk, float(object_score_b1[0, 0])

    def _decode_point_batch(
        self, encoding: ImageEncoding, points_b2: torch.Tensor, mask_logits_b1hw: torch.Tensor | None, multimask: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # As SAM2AutomaticMaskGenerator: float32 points, normalised and scaled as predict does.
        points_b12 = self._to_input_pixels(points_b2[:, None], encoding)
        labels_b1 = torch.ones(len(points_b2), 1, dtype=torch.int64, device=self.device)
        sparse = self.network.prompt_encoder_for(encoding.input_size).embed_points(points_b12, labels_b1, pad=True)
        mask = None if mask_logits_b1hw is None else mask_logits_b1hw.to(self.device, torch.float32)
        logits_bkhw, iou_bk, _ = self._run_decoder(encoding, sparse, mask, multimask)
        return logits_bkhw, iou_bk

    def _run_decoder(
        self, encoding: ImageEncoding, sparse_bnc: torch.Tensor, mask_b1hw: torch.Tensor | None, multimask: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """B prompts' tokens (B, N, C) and mask prompts (B, 1, h / 4, w / 4) or None -> the chosen
        logits (B, K, h / 4, w / 4), their IoU (B, K) and the object-presence logits (B, 1)."""
        prompt_encoder = self.network.prompt_encoder_for(encoding.input_size)
        dense = prompt_encoder.embed_masks(mask_b1hw)
        out = self.network.sam_mask_decoder(
            encoding.features_bchw, self._dense_positional_encoding(encoding.input_size), sparse_bnc, dense, encoding.high_res_features
        )
        arch = self.network.arch
        logits_bkhw, iou_bk = select_masks(
            out.masks_bkhw, out.iou_bk, multimask, arch.dynamic_multimask_stability_delta, arch.dynamic_multimask_stability_thresh
        )
        return logits_bkhw, iou_bk, out.object_score_b1

    def _sparse_tokens(self, prompts: Prompts, encoding: ImageEncoding) -> torch.Tensor:
        """Box corners (labels 2, 3) then points, in input pixels, with the padding point -> (1, N, C)."""
        xy, labels = [], []
        if prompts.box is not None:
            xy.append(prompts.box.reshape(1, 2, 2))
            labels.append(torch.tensor([[BOX_TOP_LEFT, BOX_BOTTOM_RIGHT]]))
        if prompts.points is not None:
            xy.append(prompts.points)
            labels.append(prompts.labels)
        prompt_encoder = self.network.prompt_encoder_for(encoding.input_size)
        if not xy:
            return torch.empty(1, 0, prompt_encoder.embed_dim, device=self.device)
        points = self._to_input_pixels(torch.cat(xy, dim=1), encoding)
        return prompt_encoder.embed_points(points, torch.cat(labels, dim=1).to(self.device), pad=True)

    def _to_input_pixels(self, xy_bn2: torch.Tensor, encoding: ImageEncoding) -> torch.Tensor:
        """Image pixels -> pixels of the stretched input, in float32 as the official transform
        computes them: divided by the image size, then multiplied by the input size."""
        (height, width), (input_h, input_w) = encoding.image_size, encoding.input_size
        normalised = xy_bn2.to(torch.float32) / torch.tensor([width, height], dtype=torch.float32)
        return (normalised * torch.tensor([input_w, input_h], dtype=torch.float32)).to(self.device)

    def _native_mask(self, mask_b1hw: torch.Tensor, encoding: ImageEncoding) -> torch.Tensor:
        """256 x 256 mask logits -> the decoder's own low-res size (4x the feature grid)."""
        native_hw = tuple(4 * side for side in encoding.features_bchw.shape[-2:])
        mask_b1hw = mask_b1hw.to(self.device)
        if mask_b1hw.shape[-2:] == native_hw:
            return mask_b1hw
        return F.interpolate(mask_b1hw, size=native_hw, mode="bilinear", align_corners=False, antialias=True)

    def _dense_positional_encoding(self, input_hw: tuple[int, int]) -> torch.Tensor:
        """(1, C, h, w) encoding of the feature grid's cells, made once per input size."""
        if input_hw not in self._dense_pe:
            self._dense_pe[input_hw] = self.network.prompt_encoder_for(input_hw).dense_positional_encoding()
        return self._dense_pe[input_hw]

    def _upscale(self, logits_bkhw: torch.Tensor, encoding: ImageEncoding) -> torch.Tensor:
        return upscale_from_square_input(logits_bkhw.float(), encoding.image_size)

    def _mask_to_low_res(self, logits_b1hw: torch.Tensor, encoding: ImageEncoding) -> torch.Tensor:
        # The low-res frame is a stretched view of the whole (encoded) image, as the input is.
        return F.interpolate(logits_b1hw, size=(LOW_RES_SIZE, LOW_RES_SIZE), mode="bilinear", align_corners=False, antialias=True)

    def _upscale_steps(self, encoding: ImageEncoding) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        return [(encoding.image_size, encoding.image_size)]

    def _returned_logits(self, logits_bkhw: torch.Tensor, encoding: ImageEncoding) -> torch.Tensor:
        clamped = logits_bkhw.clamp(-LOGIT_LIMIT, LOGIT_LIMIT)
        if clamped.shape[-2:] == (LOW_RES_SIZE, LOW_RES_SIZE):
            return clamped
        return F.interpolate(clamped, size=(LOW_RES_SIZE, LOW_RES_SIZE), mode="bilinear", align_corners=False, antialias=True)

    def _architecture_dict(self) -> dict:
        return self.network.arch.to_dict()
