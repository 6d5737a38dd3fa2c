"""The model object of the public API: encode an image once, then predict masks from prompts.

:class:`SegmentAnythingModel` holds what v1 and v2 share (checking prompts, the flow from an
image to masks, saving); the version-specific steps (pre-processing, how prompts reach the
decoder, choosing among candidate masks, upscaling) are small methods of the subclasses.

Prompt rules (the official predictors leave these undefined):
- at least one of points, box or mask_logits must be given, else :class:`PromptError`;
- points are (x, y) pixels of the encoded image; ``point_labels`` defaults to all foreground;
  a point outside the image (x < 0, x >= W, y < 0 or y >= H) raises :class:`PromptError`;
- a box is (x0, y0, x1, y1) with x1 > x0 and y1 > y0, else :class:`PromptError`; a box that
  reaches past the image is clipped to it, one wholly outside raises :class:`PromptError`.

Field of view: ``encode_image(image, region=(x0, y0, x1, y1))`` encodes only that rectangle
(pixels, x1 and y1 exclusive, clipped to the image), resized to the model's input as an image of
its own would be, so small objects in it are seen at full detail. The image is first made 8-bit as
a whole (``image_input``), so a region keeps the whole image's contrast. ``predict`` on such an
encoding takes points and boxes in the full image's pixels, under the rules above with the region
in place of the image (a point outside the region raises :class:`PromptError`; a box is clipped to
it), and returns masks of the full image's (H, W), False outside the region: exactly the masks of
the cropped image, put back in place. Full-size masks cost K bytes per pixel, no more than the
8-bit RGB copy of the image that encoding made; ``masks[:, y0:y1, x0:x1]`` is the region's part.
``Prediction.logits`` and ``mask_logits`` are the region's low-resolution frame, as the cropped
image's would be.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import PromptError
from .image_input import to_uint8_rgb
from .image_region import ImageRegion

LOW_RES_SIZE = 256
"""Side of the low-resolution logits the decoder makes (4x the 64 x 64 feature grid at 1024)."""

MASK_PROMPT_LOGIT = 10.0
"""A mask given as a prompt becomes logits of +10 inside and -10 outside, as the official SAM2
turns an input mask into mask logits (``_use_mask_as_output``: scale 20, bias -10)."""


@dataclass
class ImageEncoding:
    """What ``encode_image`` returns and ``predict`` takes: the image features and the sizes
    needed to map prompts in and masks out.

    features_bchw: (1, C, h, w) image features (v2: with the "no memory" embedding added).
    high_res_features: v2 only, the two finer feature maps, projected for the decoder.
    image_size: (H, W) of the pixels encoded: the image given to ``encode_image``, or its region.
    input_size: (h, w) of the resized image inside the model's square input, before padding.
    region: where the encoded pixels lie in the full image (see the module doc), or None when
        the whole image was encoded.
    """

    features_bchw: torch.Tensor
    high_res_features: tuple[torch.Tensor, torch.Tensor] | None
    image_size: tuple[int, int]
    input_size: tuple[int, int]
    region: ImageRegion | None = None

    @property
    def full_image_size(self) -> tuple[int, int]:
        """(H, W) of the image that prompts and masks refer to."""
        return self.image_size if self.region is None else self.region.full_size


@dataclass
class Prediction:
    """Masks for one set of prompts; K is 3 with ``multimask=True`` and 1 without.

    masks: (K, H, W) bool at the full image's size. scores: (K,) predicted IoU.
    logits: (K, 256, 256) low-resolution logits, to pass back as ``mask_logits``.
    object_score: v2 only, the logit that the object is in the image at all (> 0: present).
    """

    masks: np.ndarray
    scores: np.ndarray
    logits: np.ndarray
    object_score: float | None = None


@dataclass
class Prompts:
    """Checked prompts as tensors: points (1, N, 2) in image pixels, labels (1, N), box (1, 4),
    mask logits (1, 1, 256, 256); absent ones are None."""

    points: torch.Tensor | None
    labels: torch.Tensor | None
    box: torch.Tensor | None
    mask_logits: torch.Tensor | None


class SegmentAnythingModel:
    """A loaded SAM model with the official predictors' behaviour, behind one small API."""

    version: str
    size: str

    def __init__(self, network: torch.nn.Module, size: str, device: torch.device) -> None:
        self.network = network.eval().to(device)
        self.size = size
        self.device = device

    # --- the public API -------------------------------------------------------------------

    @torch.inference_mode()
    def encode_image(self, image, region=None) -> ImageEncoding:
        """Encodes an (H, W) or (H, W, 3) image of any numeric dtype (see ``image_input``), or only
        its ``region`` (x0, y0, x1, y1) in pixels (see the module doc); an empty region, or one
        outside the image, raises :class:`~sam_stack.errors.ImageError`."""
        rgb = to_uint8_rgb(image)
        if region is None:
            return self._encode(rgb)
        area = ImageRegion.within(region, rgb.shape[:2])
        encoding = self._encode(area.crop(rgb))
        encoding.region = area
        return encoding

    @torch.inference_mode()
    def encode_images(self, images) -> list[ImageEncoding]:
        """Encodes several images (each as ``encode_image`` takes them, of any sizes) in one pass
        of the image encoder, which is faster on a GPU; the encodings are those ``encode_image``
        gives, up to float rounding. The whole batch is in memory at once: pass a few at a time."""
        return self._encode_batch([to_uint8_rgb(image) for image in images])

    @torch.inference_mode()
    def predict(
        self,
        encoding: ImageEncoding,
        points=None,
        point_labels=None,
        box=None,
        mask_logits=None,
        multimask: bool = True,
    ) -> Prediction:
        """Masks for the given prompts on an encoded image (prompt rules in the module doc)."""
        prompts = self._check_prompts(encoding.image_size, points, point_labels, box, mask_logits, encoding.region)
        logits_bkhw, scores_bk, object_score = self._decode(encoding, prompts, multimask)
        masks_khw = (self._upscale(logits_bkhw, encoding) > 0)[0].cpu().numpy()
        return Prediction(
            masks=masks_khw if encoding.region is None else encoding.region.paste(masks_khw),
            scores=scores_bk[0].float().cpu().numpy(),
            logits=self._returned_logits(logits_bkhw, encoding)[0].float().cpu().numpy(),
            object_score=object_score,
        )

    @torch.inference_mode()
    def decode_point_batch(
        self, encoding: ImageEncoding, points_b2, multimask: bool = True, mask_logits_b1hw=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decodes B prompts of one foreground point each in one decoder call, as the official
        automatic mask generators do. The last bits of the outputs can depend on B, so callers
        after the official numbers batch as those do (``points_per_batch``, 64 by default).

        points_b2: (B, 2) (x, y) pixels of the encoded image, a numpy array or tensor; float64 as
            the generators' grids are (each version rounds them as its official generator does).
            Unlike ``predict``, the points are not checked: callers pass grid points inside the image.
        mask_logits_b1hw: optional (B, 1, h, w) low-resolution logits, one mask prompt per point
            (SAM2's mask-to-mask refinement), in the decoder's own low-res size.
        Returns (low-res logits (B, K, h, w), unclamped; predicted IoU (B, K)), on the model's
        device; K is 3 with ``multimask=True`` and 1 without, chosen as ``predict`` chooses.
        """
        points = torch.as_tensor(points_b2)
        mask = None if mask_logits_b1hw is None else torch.as_tensor(mask_logits_b1hw)
        return self._decode_point_batch(encoding, points, mask, multimask)

    @torch.inference_mode()
    def logits_from_mask(self, encoding: ImageEncoding, mask_hw) -> np.ndarray:
        """A mask of the full image (H, W) -> (256, 256) float32 ``mask_logits`` for ``predict``,
        e.g. an object drawn or segmented earlier, to be refined with more prompts.

        The mask becomes logits of +/-``MASK_PROMPT_LOGIT`` and is resized (bilinear, antialiased)
        into the low-resolution frame of the encoding, which each version lays out as its
        ``Prediction.logits``; of a region encoding, only the region's part counts. Raises
        :class:`PromptError` for a mask of another shape.
        """
        mask = np.asarray(mask_hw)
        if mask.shape != encoding.full_image_size:
            raise PromptError(f"found a mask of shape {mask.shape}; expected the image's shape {encoding.full_image_size}")
        if encoding.region is not None:
            mask = encoding.region.crop(mask)
        inside = torch.from_numpy(mask.astype(bool)).to(self.device)
        logits_b1hw = torch.where(inside, MASK_PROMPT_LOGIT, -MASK_PROMPT_LOGIT).to(torch.float32)[None, None]
        return self._mask_to_low_res(logits_b1hw, encoding)[0, 0].cpu().numpy()

    def upscale_logits(self, logits_bkhw: torch.Tensor, encoding: ImageEncoding) -> torch.Tensor:
        """Low-res logits (B, K, h, w) -> logits at the encoded pixels' own size (B, K, H, W)
        (of a region encoding: the region's), exactly as ``predict`` makes its masks (threshold
        them at 0)."""
        return self._upscale(logits_bkhw, encoding)

    def upscale_steps(self, encoding: ImageEncoding) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        """How ``upscale_logits`` works, for code that upscales only part of a mask: a list of
        (size, kept) pairs, each a bilinear resize (``align_corners=False``) of the previous result
        to ``size`` (h, w), of which the top-left ``kept`` (h, w) is kept. The last ``kept`` is
        the image's (H, W). Following the steps with ``F.interpolate`` gives ``upscale_logits``."""
        return self._upscale_steps(encoding)

    def save(self, path) -> None:
        """Writes the weights and the architecture, so that ``load_model(path)`` rebuilds this
        exact model (official checkpoints hold weights only)."""
        payload = {
            "model": {key: value.cpu() for key, value in self.network.state_dict().items()},
            "sam_stack": {"format": 1, "version": self.version, "size": self.size, "architecture": self._architecture_dict()},
        }
        torch.save(payload, Path(path))

    def __repr__(self) -> str:
        return f"<SAM {self.version} {self.size} on {self.device}>"

    # --- what each version does its own way ---------------------------------------------------

    def _encode(self, rgb_hw3: np.ndarray) -> ImageEncoding:
        raise NotImplementedError

    def _encode_batch(self, rgbs_hw3: list[np.ndarray]) -> list[ImageEncoding]:
        """One encoder pass for several images; versions that do not batch encode one by one."""
        return [self._encode(rgb) for rgb in rgbs_hw3]

    def _decode(self, encoding: ImageEncoding, prompts: Prompts, multimask: bool):
        """-> low-res logits (1, K, h, w) (256 x 256 at the official input sizes), scores (1, K),
        object score or None."""
        raise NotImplementedError

    def _upscale(self, logits_bkhw: torch.Tensor, encoding: ImageEncoding) -> torch.Tensor:
        """Low-res logits -> logits at the image's own size (B, K, H, W)."""
        raise NotImplementedError

    def _decode_point_batch(
        self, encoding: ImageEncoding, points_b2: torch.Tensor, mask_logits_b1hw: torch.Tensor | None, multimask: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The batched decoder call of the automatic mask generator (see ``decode_point_batch``).

        Each of the B prompts is one foreground point (label 1) plus the padding token, and
        optionally a mask prompt, decoded against the one encoded image. Points arrive as given
        (float64 for a numpy grid) and must be rounded as the version's official generator rounds
        them: v1 scales them to the resized input and shifts them to pixel centres in float64, then
        encodes in float32; v2 casts them to float32 first. Returns (B, K, h, w) raw logits (not
        clamped: the generator upscales these) and (B, K) IoU, K chosen as ``_decode`` chooses.
        """
        raise NotImplementedError

    def _mask_to_low_res(self, logits_b1hw: torch.Tensor, encoding: ImageEncoding) -> torch.Tensor:
        """Logits (1, 1, H, W) at the encoded pixels' size -> (1, 1, 256, 256) in the layout of
        ``Prediction.logits`` (see ``logits_from_mask``)."""
        raise NotImplementedError

    def _upscale_steps(self, encoding: ImageEncoding) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        """The (size, kept) resize steps of ``_upscale`` (see ``upscale_steps``), e.g. v2's single
        resize is ``[(image_size, image_size)]``."""
        raise NotImplementedError

    def _returned_logits(self, logits_bkhw: torch.Tensor, encoding: ImageEncoding) -> torch.Tensor:
        """The decoder's low-res logits -> ``Prediction.logits`` (B, K, 256, 256); as they are
        unless a version says otherwise (v2 clamps them, as its official predictor does)."""
        return logits_bkhw

    def _architecture_dict(self) -> dict:
        raise NotImplementedError

    # --- shared -------------------------------------------------------------------------------

    def _check_prompts(self, image_size, points, point_labels, box, mask_logits, region: ImageRegion | None = None) -> Prompts:
        """Prompts -> tensors in pixels of the encoded image of ``image_size`` (H, W). With a
        ``region``, points and box are in the full image's pixels and must lie in the region."""
        height, width = image_size
        x0, y0, x1, y1 = (0, 0, width, height) if region is None else region.bounds
        where = f"the {width} x {height} image" if region is None else region.describe()
        if points is None and point_labels is not None:
            raise PromptError("found point_labels without points")
        if points is None and box is None and mask_logits is None:
            raise PromptError("no prompt given; expected points, a box or mask_logits")
        points_t = labels_t = box_t = mask_t = None
        if points is not None:
            xy = np.asarray(points, dtype=np.float64)
            if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) == 0:
                raise PromptError(f"found points of shape {xy.shape}; expected (N, 2) pixel coordinates (x, y), N >= 1")
            labels = np.ones(len(xy), dtype=np.int64) if point_labels is None else np.asarray(point_labels)
            if labels.shape != (len(xy),):
                raise PromptError(f"found point_labels of shape {labels.shape}; expected ({len(xy)},), one per point")
            if not np.isin(labels, (0, 1)).all():
                raise PromptError(f"found point labels {sorted(set(labels.tolist()))}; expected 1 (foreground) or 0 (background)")
            outside = (xy[:, 0] < x0) | (xy[:, 0] >= x1) | (xy[:, 1] < y0) | (xy[:, 1] >= y1) | ~np.isfinite(xy).all(1)
            if outside.any():
                raise PromptError(
                    f"found point(s) {xy[outside].tolist()} outside {where}; "
                    f"expected {x0} <= x < {x1} and {y0} <= y < {y1}"
                )
            points_t = torch.as_tensor(xy - (x0, y0))[None]
            labels_t = torch.as_tensor(labels.astype(np.int64))[None]
        if box is not None:
            box_t = torch.as_tensor(self._clip_box(box, (x0, y0, x1, y1), where) - (x0, y0, x0, y0))[None]
        if mask_logits is not None:
            mask = np.asarray(mask_logits, dtype=np.float32)
            if mask.shape not in ((LOW_RES_SIZE, LOW_RES_SIZE), (1, LOW_RES_SIZE, LOW_RES_SIZE)):
                raise PromptError(
                    f"found mask_logits of shape {mask.shape}; expected ({LOW_RES_SIZE}, {LOW_RES_SIZE}) "
                    "low-resolution logits such as Prediction.logits[i]"
                )
            mask_t = torch.as_tensor(mask).reshape(1, 1, LOW_RES_SIZE, LOW_RES_SIZE)
        return Prompts(points_t, labels_t, box_t, mask_t)

    @staticmethod
    def _clip_box(box, bounds: tuple[int, int, int, int], where: str) -> np.ndarray:
        """A box clipped to ``bounds`` (x0, y0, x1, y1) of the area ``where`` describes."""
        xyxy = np.asarray(box, dtype=np.float64).reshape(-1)
        if xyxy.shape != (4,) or not np.isfinite(xyxy).all():
            raise PromptError(f"found box {np.asarray(box).tolist()}; expected 4 finite numbers x0, y0, x1, y1")
        x0, y0, x1, y1 = xyxy
        if x1 <= x0 or y1 <= y0:
            raise PromptError(f"found an empty box {xyxy.tolist()}; expected x1 > x0 and y1 > y0")
        left, top, right, bottom = bounds
        if x1 <= left or y1 <= top or x0 >= right or y0 >= bottom:
            raise PromptError(f"found box {xyxy.tolist()} wholly outside {where}")
        return np.array([max(x0, left), max(y0, top), min(x1, right), min(y1, bottom)])
