"""``StackTracker``: objects prompted on a few frames of a stack, carried through all of it.

    tracker = StackTracker(model, frames)             # a SAM v2 / v2.1 model, a (T, H, W[, 3]) stack
    tracker.add_prompt(12, object_id=1, points=[[140, 80]])
    for frame, masks in tracker.propagate():          # {object_id: (H, W) bool}, frame by frame
        ...
    labels = tracker.run()                            # (T, H, W) uint32, 0 = background

It behaves as the official ``SAM2VideoPredictor`` built by ``build_sam2_video_predictor`` (same
masks for the same weights and frames, see the parity tests), with these differences, each for
a reason:

- Memory does not grow with the stack. Frames are read one at a time; each frame's image encoding
  is computed once per pass and shared by all objects, and only the last ``cached_frames``
  encodings are kept (the official predictor loads every frame at 1024 x 1024 up front, and keeps
  every tracked frame's memory). A pass remembers its last frames only (see ``memory_bank``), so
  it starts from the prompts alone: where the official predictor, asked to track backwards after
  forwards, also reads the forward pass's memories of the frames after the start, or reads stale
  memories around a corrected frame, ours does not.
- Every prompt makes its frame a conditioning frame, decoded from the prompt alone, also on a
  frame already tracked. (Officially a prompt on a tracked frame reads the memory and that
  frame's previous mask and stays an ordinary frame, unless ``add_all_frames_to_correct_as_cond``;
  here the result of a prompt does not depend on what was propagated before it.) A new prompt
  replaces the object's earlier prompt on that frame; officially it is also given the earlier
  mask as a mask prompt. Propagating again from the prompted frame recomputes only the frames
  after it (before it, in reverse).
- Overlaps are resolved by default (official ``non_overlap_masks=True``; off by default there):
  each pixel goes to the object with the highest mask logit, if that is > 0 (see ``overlaps``).
  ``exclusive=False`` gives each object its own mask, as the official default; ``run`` always
  resolves them, since a label image holds one object per pixel.
- ``propagate(reverse=True)`` starts by default at the *latest* prompted frame (officially at the
  earliest, which leaves everything after it untouched); forward, at the earliest, as officially.
- Frames are resized to the model's input as the image predictor resizes images (float,
  antialiased bilinear; see ``models/v2/preprocessing``), so that a frame and the same image in
  ``model.predict`` get the same masks; the official video predictor resizes 8-bit frames with
  PIL's bicubic filter. Any dtype is accepted and mapped to 8 bits per frame (``image_input``).
- Small holes (``fill_hole_area``, 8 low-resolution pixels as officially) are filled on every
  device; the official predictor needs a CUDA extension for this and skips it on the CPU.

Like the official predictor, memories are stored in bfloat16 (half the memory; they are used in
float32), up to 16 object pointers are attended to, and an object whose score is <= 0 on a frame
gets an empty mask there and is picked up again when it returns.

bfloat16: with ``model.use_bfloat16`` set when the tracker is made, the image encoder and the
memory attention (together nearly all of a frame's time) run under bfloat16 autocast, about
twice as fast on CPUs with BF16 units; the masks then differ slightly from the float32 ones
(the README gives the agreement). Off by default, and parity is shown without it.

Image priors (seed 002): ``add_image_prior`` gives an object a memory made from an image and
mask outside the stack, as if from a prompted frame that belongs to no frame of the stack (its
memory in the prompts' temporal slot, its pointer at distance 0 from every frame). An object may
have priors only; it is then tracked from frame 0 (or, in reverse, the last frame).

SAMURAI (``samurai=True`` or :class:`SamuraiSettings`): candidate masks of tracked frames are
chosen with a Kalman filter on the object's box and only confident frames are remembered (see
``samurai``).

Cancelling: ``propagate`` is a generator; closing it (or stopping the iteration) at any frame
leaves the tracker as it was, and prompts added meanwhile apply to the next propagation. ``run``
returns its labels only when every frame is done, so an interrupted run leaves nothing behind.
"""

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from ...errors import PromptError, SamStackError, UnsupportedModelError
from ...models.common.prompt_encoder import BOX_BOTTOM_RIGHT, BOX_TOP_LEFT
from ...models.image_input import to_uint8_rgb
from ...models.v2.input_size import input_size_for
from ...models.v2.sam_v2 import SamV2ImageFeatures
from ...models.v2.video_steps import FrameOutput, VideoSteps
from ..embedding_cache_encode import cached_frame_features
from .frames import FrameReader
from .holes import fill_small_holes
from .memory_bank import ConfidentRecentFrames, FrameMemory, MemoryRules, RecentFrames, select_memory
from .overlaps import exclusive_masks, label_image
from .samurai import SamuraiSelector, SamuraiSettings, mask_boxes

# The official predictor stores memories in bfloat16 (``_run_single_frame_inference``).
MEMORY_DTYPE = torch.bfloat16

DIRECTIONS = ("both", "forward", "backward")


@dataclass(frozen=True)
class PromptedFrame:
    """An object's prompt on one frame: the output shown there and what it leaves in memory."""

    output: FrameOutput
    memory: FrameMemory


@dataclass
class ObjectPrompts:
    """Everything the tracker keeps of one object: its prompted frames and image priors."""

    frames: dict[int, PromptedFrame] = field(default_factory=dict)
    priors: list[FrameMemory] = field(default_factory=list)


@dataclass
class ObjectPass:
    """One object during one propagation: its prompts as they were when the pass began, the
    frames it has tracked so far, and (with SAMURAI) its motion model."""

    frames: dict[int, PromptedFrame]
    prompt_memories: dict[int, FrameMemory]
    priors: list[FrameMemory]
    recent: RecentFrames
    selector: SamuraiSelector | None


class StackTracker:
    """Tracks objects through a stack with SAM v2's memory (see the module docstring).

    Args:
        model: a loaded SAM v2 or v2.1 model (``sam_stack.load_model``).
        frames: (T, H, W) or (T, H, W, 3) array-like of any numeric dtype, indexed along axis 0
            (numpy array or memmap, dask, zarr, a list of arrays); read one frame at a time.
        samurai: True for SAMURAI's mask selection with the paper's settings, or the settings.
        cached_frames: how many frames' image encodings are kept (a prompted frame is often
            propagated from next, so the default keeps it and the frame being tracked).
        fill_hole_area: background regions of up to this many low-resolution pixels join the
            mask (official ``fill_hole_area``; 0 turns it off).
        exclusive: give each pixel to one object at most, in the masks of ``add_prompt`` and
            ``propagate`` (``run`` always does).
        embedding_cache: an :class:`~sam_stack.tasks.embedding_cache.EmbeddingCache` to take frame
            encodings from and put them into, so that propagating again (after a correction, in
            another tracker, after ``sam-stack embed``) does not encode the frames again.
    """

    def __init__(
        self,
        model,
        frames,
        *,
        samurai: bool | SamuraiSettings = False,
        cached_frames: int = 2,
        fill_hole_area: int = 8,
        exclusive: bool = True,
        embedding_cache=None,
    ) -> None:
        if getattr(model, "version", None) not in ("v2", "v2.1"):
            raise UnsupportedModelError(
                f"found a SAM {getattr(model, 'version', '?')} model ({model!r}); propagation through a stack "
                "needs the memory of a SAM v2 or v2.1 model: load a sam2 / sam2.1 checkpoint"
            )
        self.model = model
        self._reader = FrameReader(frames)
        network = model.network
        multiple = network.arch.image_encoder.input_size_multiple
        input_hw = input_size_for(model.input_size, self._reader.frame_hw, multiple)
        self._steps = VideoSteps(network, input_hw, bfloat16=model.use_bfloat16)
        memory_arch = network.arch.memory
        self._rules = MemoryRules(
            num_memory_frames=memory_arch.num_memory_frames,
            max_pointers=memory_arch.max_object_pointers,
            signed_distance=memory_arch.signed_pointer_distance,
            num_frames=self._reader.num_frames,
        )
        self._samurai = SamuraiSettings() if samurai is True else (samurai or None)
        self._cached_frames = max(1, cached_frames)
        self._fill_hole_area = fill_hole_area
        self._exclusive = exclusive
        self._embedding_cache = embedding_cache
        self._encodings: OrderedDict[int, SamV2ImageFeatures] = OrderedDict()
        self._objects: dict[int, ObjectPrompts] = {}

    @property
    def num_frames(self) -> int:
        return self._reader.num_frames

    @property
    def frame_shape(self) -> tuple[int, int]:
        """(H, W) of the frames (and of every mask)."""
        return self._reader.frame_hw

    @property
    def object_ids(self) -> list[int]:
        """The objects with prompts, in the order they were first added."""
        return list(self._objects)

    # --- prompts -------------------------------------------------------------------------------

    @torch.inference_mode()
    def add_prompt(self, frame: int, object_id: int, points=None, point_labels=None, box=None, mask=None) -> dict[int, np.ndarray]:
        """Prompts ``object_id`` on ``frame`` (replacing its earlier prompt there).

        Points, labels and box follow ``model.predict``'s rules, in pixels of the frame;
        ``mask`` is an (H, W) boolean mask of the object (not together with points or a box).
        Returns the masks of every object prompted on this frame, {object_id: (H, W) bool}.
        """
        frame = self._checked_frame(frame)
        object_id = _checked_object_id(object_id)
        if mask is not None:
            if points is not None or box is not None:
                raise PromptError("found a mask together with points or a box; expected a mask alone, or points and / or a box")
            mask_b1hw = self._mask_input(mask, self.frame_shape)
            features = self._features(frame)
            output = self._steps.decode_mask_prompt(features, mask_b1hw)
        else:
            points_bn2, labels_bn = self._point_prompt(points, point_labels, box)
            features = self._features(frame)
            candidates = self._steps.decode_prompt(features, points_bn2, labels_bn)
            output = self._steps.choose(candidates, int(candidates.iou_bk[0].argmax()))
        # Officially a prompted frame's memory is made from its stored, hole-filled mask.
        output = self._filled(output)
        memory = self._steps.encode_memory(features, output, from_prompt=True)
        prompts = self._objects.setdefault(object_id, ObjectPrompts())
        prompts.frames[frame] = PromptedFrame(output, FrameMemory(memory.to(MEMORY_DTYPE), output.pointer_bc))
        outputs = {key: obj.frames[frame].output for key, obj in self._objects.items() if frame in obj.frames}
        return self._masks(outputs, self._exclusive)

    @torch.inference_mode()
    def add_image_prior(self, object_id: int, image, mask) -> None:
        """Gives ``object_id`` a memory of how it looks in ``image`` (any image outside the
        stack, (H', W') or (H', W', 3)), where it covers ``mask`` ((H', W') bool)."""
        object_id = _checked_object_id(object_id)
        rgb = to_uint8_rgb(image)
        mask_b1hw = self._mask_input(mask, rgb.shape[:2])
        features = self._encoded(rgb)
        output = self._filled(self._steps.decode_mask_prompt(features, mask_b1hw))
        memory = self._steps.encode_memory(features, output, from_prompt=True)
        prior = FrameMemory(memory.to(MEMORY_DTYPE), output.pointer_bc)
        self._objects.setdefault(object_id, ObjectPrompts()).priors.append(prior)

    def remove_prompt(self, frame: int, object_id: int) -> None:
        """Removes ``object_id``'s prompt on ``frame``; an object left without prompts or priors
        is forgotten."""
        prompts = self._objects.get(object_id)
        if prompts is None or frame not in prompts.frames:
            raise PromptError(f"found no prompt of object {object_id} on frame {frame}; prompted frames: {self._prompted_frames()}")
        del prompts.frames[frame]
        if not prompts.frames and not prompts.priors:
            del self._objects[object_id]

    def remove_object(self, object_id: int) -> None:
        """Forgets ``object_id`` and all its prompts and priors."""
        if self._objects.pop(object_id, None) is None:
            raise PromptError(f"found no object {object_id}; objects: {self.object_ids}")

    # --- propagation ---------------------------------------------------------------------------

    def propagate(self, start: int | None = None, reverse: bool = False) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        """Yields ``(frame, {object_id: (H, W) bool})`` for each frame from ``start`` to the last
        (to the first with ``reverse``), one frame at a time.

        ``start`` defaults to the earliest prompted frame (the latest with ``reverse``); with
        image priors only, to the first (last) frame. Prompted frames give their prompt's masks.
        """
        return self._propagate(self._order(start, reverse), self._begin_passes(), self._exclusive)

    def run(self, direction: str = "both", *, progress: bool = False) -> np.ndarray:
        """Propagates over the stack -> (T, H, W) uint32 labels, each object's id on its pixels.

        direction: "forward" (from the earliest prompted frame to the end), "backward" (from the
            latest prompted frame to the start), or "both": forward, then backward from the
            earliest prompted frame, so every frame is covered once (as the official notebooks
            run the predictor). Frames a direction does not reach stay 0.
        progress: show a progress bar.
        """
        if direction not in DIRECTIONS:
            raise SamStackError(f"found direction {direction!r}; expected one of {DIRECTIONS}")
        first = min(self._prompted_frames(), default=0)
        passes = {
            "forward": [(None, False)],
            "backward": [(None, True)],
            "both": [(first, False)] + ([(first, True)] if first > 0 else []),
        }[direction]
        orders = [self._order(start, reverse) for start, reverse in passes]
        labels = np.zeros((self.num_frames, *self.frame_shape), dtype=np.uint32)
        with tqdm(total=sum(map(len, orders)), desc="propagating", disable=not progress) as bar:
            for order in orders:
                for frame, masks in self._propagate(order, self._begin_passes(), exclusive=True):
                    labels[frame] = label_image(np.stack(list(masks.values())), list(masks))
                    bar.update()
        return labels

    def _order(self, start: int | None, reverse: bool) -> range:
        """The frames a propagation visits (see ``propagate`` for the default start)."""
        if not self._objects:
            raise PromptError("found no prompts; add a prompt (add_prompt) or an image prior before propagating")
        if start is None:
            prompted = self._prompted_frames()
            edge = self.num_frames - 1 if reverse else 0
            start = (max(prompted) if reverse else min(prompted)) if prompted else edge
        start = self._checked_frame(start)
        return range(start, -1, -1) if reverse else range(start, self.num_frames)

    def _propagate(
        self, order: range, passes: dict[int, ObjectPass], exclusive: bool
    ) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        for frame in order:
            yield frame, self._frame_masks(frame, order.step, passes, exclusive)

    @torch.inference_mode()
    def _frame_masks(self, frame: int, step: int, passes: dict[int, ObjectPass], exclusive: bool) -> dict[int, np.ndarray]:
        return self._masks(self._track_frame(frame, step, passes), exclusive)

    def _track_frame(self, frame: int, step: int, passes: dict[int, ObjectPass]) -> dict[int, FrameOutput]:
        """Every object's mask on ``frame``, tracking those not prompted there."""
        features = None
        outputs = {}
        for object_id, state in passes.items():
            if frame in state.frames:
                outputs[object_id] = state.frames[frame].output
                continue
            if features is None:
                features = self._features(frame)
            outputs[object_id] = self._track(frame, step, state, features)
        return outputs

    def _track(self, frame: int, step: int, state: ObjectPass, features: SamV2ImageFeatures) -> FrameOutput:
        """One object on one unprompted frame; remembers the frame in ``state``."""
        memories, pointers = select_memory(frame, step, state.prompt_memories, state.priors, state.recent)
        candidates = self._steps.decode_tracked(features, memories, pointers, self._rules.pointer_distance_scale)
        kf_score = None
        if state.selector is None:
            index = int(candidates.iou_bk[0].argmax())
        else:
            ious_k = candidates.iou_bk[0].float().cpu().numpy()
            boxes = mask_boxes(candidates.mask_logits_bkhw, self._steps.input_hw)
            index, kf_score = state.selector.choose(boxes, ious_k, bool(candidates.object_score_b1.item() > 0))
        output = self._steps.choose(candidates, index)
        memory = self._steps.encode_memory(features, output, from_prompt=False)
        confident = state.selector is None or state.selector.is_confident(
            output.iou_b1.item(), output.object_score_b1.item(), kf_score
        )
        state.recent.add(frame, FrameMemory(memory.to(MEMORY_DTYPE), output.pointer_bc), confident)
        # A tracked frame's memory is made before its holes are filled (officially too).
        return self._filled(output)

    def _begin_passes(self) -> dict[int, ObjectPass]:
        """Every object's state for a new propagation, its prompts copied as they are now."""
        samurai = self._samurai is not None
        return {
            object_id: ObjectPass(
                frames=dict(prompts.frames),
                prompt_memories={frame: prompted.memory for frame, prompted in prompts.frames.items()},
                priors=list(prompts.priors),
                recent=(ConfidentRecentFrames if samurai else RecentFrames)(self._rules),
                selector=SamuraiSelector(self._samurai) if samurai else None,
            )
            for object_id, prompts in self._objects.items()
        }

    # --- helpers -------------------------------------------------------------------------------

    def _features(self, frame: int) -> SamV2ImageFeatures:
        """The frame's image encoding, from the cache or computed (and cached)."""
        if frame in self._encodings:
            self._encodings.move_to_end(frame)
            return self._encodings[frame]
        features = self._encoded(self._reader.read(frame))
        self._encodings[frame] = features
        while len(self._encodings) > self._cached_frames:
            self._encodings.popitem(last=False)
        return features

    def _encoded(self, image) -> SamV2ImageFeatures:
        """The features of a frame or prior image, as the tracker's steps were set up to use them."""
        steps = self._steps
        return cached_frame_features(self.model, image, steps.input_hw, self._embedding_cache, steps.bfloat16)

    def _point_prompt(self, points, point_labels, box) -> tuple[torch.Tensor, torch.Tensor]:
        """Points and box, checked as ``model.predict`` checks them -> (1, N, 2) (x, y) in input
        pixels and (1, N) labels, box corners first (labels 2 and 3) as the official predictor."""
        if points is None and box is None:
            raise PromptError("no prompt given; expected points, a box or a mask")
        prompts = self.model._check_prompts(self.frame_shape, points, point_labels, box, None)
        xy, labels = [], []
        if prompts.box is not None:
            xy.append(prompts.box.reshape(1, 2, 2))
            labels.append(torch.tensor([[BOX_TOP_LEFT, BOX_BOTTOM_RIGHT]]))
        if prompts.points is not None:
            xy.append(prompts.points)
            labels.append(prompts.labels)
        device = self.model.device
        height, width = self.frame_shape
        input_h, input_w = self._steps.input_hw
        # Pixels of the frame -> pixels of the model input, in float32 as the official predictor.
        normalised = torch.cat(xy, dim=1).to(torch.float32) / torch.tensor([width, height], dtype=torch.float32)
        points_bn2 = (normalised * torch.tensor([input_w, input_h], dtype=torch.float32)).to(device)
        return points_bn2, torch.cat(labels, dim=1).to(device)

    def _filled(self, output: FrameOutput) -> FrameOutput:
        return replace(output, mask_logits_b1hw=fill_small_holes(output.mask_logits_b1hw, self._fill_hole_area))

    def _mask_input(self, mask, image_hw: tuple[int, int]) -> torch.Tensor:
        """(H, W) mask -> (1, 1, h, w) 0 / 1 float at the model input, as ``add_new_mask`` makes it."""
        array = np.asarray(mask)
        if array.shape != tuple(image_hw):
            raise PromptError(f"found a mask of shape {array.shape}; expected {tuple(image_hw)}, the image's (H, W)")
        mask_b1hw = torch.as_tensor(array.astype(bool), device=self.model.device)[None, None].float()
        if tuple(image_hw) == self._steps.input_hw:
            return mask_b1hw
        resized = F.interpolate(mask_b1hw, size=self._steps.input_hw, mode="bilinear", align_corners=False, antialias=True)
        return (resized >= 0.5).float()

    def _masks(self, outputs: dict[int, FrameOutput], exclusive: bool) -> dict[int, np.ndarray]:
        """Objects' low-res logits -> {object_id: (H, W) bool}, with overlaps resolved or not."""
        logits_k1hw = torch.cat([output.mask_logits_b1hw for output in outputs.values()])
        logits_khw = F.interpolate(logits_k1hw, size=self.frame_shape, mode="bilinear", align_corners=False)[:, 0]
        masks_khw = exclusive_masks(logits_khw) if exclusive else logits_khw > 0
        return dict(zip(outputs, masks_khw.cpu().numpy(), strict=True))

    def _prompted_frames(self) -> list[int]:
        return sorted({frame for prompts in self._objects.values() for frame in prompts.frames})

    def _checked_frame(self, frame) -> int:
        if not isinstance(frame, (int, np.integer)) or not 0 <= frame < self.num_frames:
            raise PromptError(f"found frame {frame!r}; expected an int 0 <= frame < {self.num_frames}")
        return int(frame)


def _checked_object_id(object_id) -> int:
    """Object ids become label values: positive ints that fit in uint32."""
    if isinstance(object_id, bool) or not isinstance(object_id, (int, np.integer)) or not 0 < object_id < 2**32:
        raise PromptError(f"found object id {object_id!r}; expected an int from 1 to {2**32 - 1} (it becomes the label value)")
    return int(object_id)
