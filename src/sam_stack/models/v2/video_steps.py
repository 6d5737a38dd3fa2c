"""One object on one frame of a SAM v2 video: the steps of the official ``SAM2Base.track_step``.

A frame is either *prompted* (points, a box or a mask on it) or *tracked* (its image features
first read the object's memory bank). Either way the result is a :class:`FrameOutput`: the
chosen mask's low-resolution logits, the object score, and the object pointer, which together
with the memory made from the mask (:meth:`VideoSteps.encode_memory`) is what later frames
remember of this one. Which memories a frame reads, and how they are kept, is the caller's
business: these functions take tensors and return tensors, and hold no state beyond a cache of
constants for one input size.

The official flow, step by step (``sam2/modeling/sam2_base.py``):

- prompted frame (``is_init_cond_frame``): image features + ``no_mem_embed``, then the mask
  decoder with the prompt; three candidates for 0 or 1 click (a box counts as two), else one
  (falling back to the best of three when unstable, ``dynamic_multimask_via_stability``);
- mask prompt (``use_mask_input_as_output_without_sam``): the mask itself, as logits -10 / +10,
  is the output; the decoder runs only to make the pointer;
- tracked frame: memory attention over the selected memories and pointers, then the decoder with
  no prompt (a padding point) and three candidates;
- the chosen candidate's output token, through ``obj_ptr_proj``, is the pointer; where the object
  score is <= 0 the masks become ``NO_OBJECT_LOGIT`` and the pointer ``no_obj_ptr``.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from ..common.prompt_encoder import PADDING
from .mask_selection import select_masks
from .memory import encode_new_memory, object_pointer_tokens, spatial_memory_tokens
from .sam_v2 import SamV2, SamV2ImageFeatures

NO_OBJECT_LOGIT = -1024.0
"""Logit of every pixel of a mask whose object is absent (official ``NO_OBJ_SCORE``)."""

# A mask prompt becomes logits of -10 outside and +10 inside (official ``_use_mask_as_output``).
MASK_PROMPT_SCALE, MASK_PROMPT_BIAS = 20.0, -10.0

# The object score given to models without an object-score head: present (official default).
ALWAYS_PRESENT_SCORE = 10.0


@dataclass
class Candidates:
    """The masks the decoder proposes for one object on one frame, before one is chosen.

    mask_logits_bkhw: (1, K, h / 4, w / 4) low-resolution logits for an (h, w) input, K = 3 or 1;
        all ``NO_OBJECT_LOGIT`` when the object is absent.
    iou_bk: (1, K) predicted IoU of each candidate.
    tokens_bkc: (1, K, C) the decoder output token each candidate's pointer is made from.
    object_score_b1: (1, 1) logit that the object is present (> 0: present).
    """

    mask_logits_bkhw: torch.Tensor
    iou_bk: torch.Tensor
    tokens_bkc: torch.Tensor
    object_score_b1: torch.Tensor


@dataclass
class FrameOutput:
    """One object's result on one frame.

    mask_logits_b1hw: (1, 1, h / 4, w / 4) low-resolution logits of the chosen mask.
    iou_b1: (1, 1) its predicted IoU (1 for a mask prompt).
    object_score_b1: (1, 1) logit that the object is present.
    pointer_bc: (1, C) the object pointer.
    """

    mask_logits_b1hw: torch.Tensor
    iou_b1: torch.Tensor
    object_score_b1: torch.Tensor
    pointer_bc: torch.Tensor

    @property
    def is_present(self) -> bool:
        return bool(self.object_score_b1.item() > 0)


class VideoSteps:
    """The per-frame steps of one network at one input size (h, w).

    Args:
        network: the SAM v2 / v2.1 network.
        input_hw: the (h, w) every frame is resized to before encoding.
        bfloat16: run the memory attention, most of a tracked frame's work after its encoding,
            under bfloat16 autocast (its output is float32 again).
    """

    def __init__(self, network: SamV2, input_hw: tuple[int, int], bfloat16: bool = False) -> None:
        self.network = network
        self.arch = network.arch
        self.input_hw = tuple(input_hw)
        self.bfloat16 = bfloat16
        self.prompt_encoder = network.prompt_encoder_for(self.input_hw)
        self.dense_pe_1chw = self.prompt_encoder.dense_positional_encoding()

    # --- prompted frames ---------------------------------------------------------------------

    def decode_prompt(self, features: SamV2ImageFeatures, points_bn2: torch.Tensor, labels_bn: torch.Tensor) -> Candidates:
        """Candidates from point / box prompts alone (a prompted frame reads no memory).

        points_bn2: (1, N, 2) (x, y) in input pixels, box corners first (labels 2 and 3).
        labels_bn: (1, N) labels 0 (background), 1 (foreground), 2, 3 (box corners).
        """
        arch = self.arch
        num_points = points_bn2.shape[1]
        multimask = arch.multimask_output_in_sam and arch.multimask_min_pt_num <= num_points <= arch.multimask_max_pt_num
        # The official predictor never passes a box to the prompt encoder, so a padding point is
        # always appended.
        sparse_bnc = self.prompt_encoder.embed_points(points_bn2, labels_bn, pad=True)
        image_bchw = features.features_bchw + self.network.no_mem_embed.view(1, -1, 1, 1)
        return self._decode(image_bchw, features.high_res_features, sparse_bnc, None, multimask)

    def decode_mask_prompt(self, features: SamV2ImageFeatures, mask_b1hw: torch.Tensor) -> FrameOutput:
        """A mask prompt used as the output itself; the decoder only makes the pointer.

        mask_b1hw: (1, 1, h, w) 0 / 1 float mask at the input size.
        """
        high_res_b1hw = mask_b1hw * MASK_PROMPT_SCALE + MASK_PROMPT_BIAS
        low_res_b1hw = F.interpolate(
            high_res_b1hw, size=self._low_res_hw(), mode="bilinear", align_corners=False, antialias=True
        )
        # The pointer comes from the decoder run on the plain image features (no memory embedding)
        # with the mask, shrunk by the learned ``mask_downsample``, as its only prompt.
        dense_bchw = self.prompt_encoder.embed_masks(self.network.mask_downsample(mask_b1hw))
        candidates = self._decode(features.features_bchw, features.high_res_features, self._no_points(), dense_bchw, False)
        pointer_bc = self.choose(candidates, 0).pointer_bc
        # The official code then decides presence from the mask, not the decoder, and applies the
        # no-object pointer rule a second time with it.
        present_b1 = (mask_b1hw.flatten(1) > 0).any(dim=1, keepdim=True).to(mask_b1hw.dtype)
        return FrameOutput(
            mask_logits_b1hw=low_res_b1hw,
            iou_b1=torch.ones_like(present_b1),
            object_score_b1=present_b1 * MASK_PROMPT_SCALE + MASK_PROMPT_BIAS,
            pointer_bc=self._absent_pointer_rule(pointer_bc, present_b1),
        )

    # --- tracked frames ----------------------------------------------------------------------

    def decode_tracked(
        self,
        features: SamV2ImageFeatures,
        memories: Sequence[tuple[torch.Tensor, int]],
        pointers: Sequence[tuple[torch.Tensor, int]],
        pointer_distance_scale: int,
    ) -> Candidates:
        """Candidates for a frame with no prompt, its features fused with the memory bank.

        memories: F >= 1 pairs (memory (1, C_mem, h / 16, w / 16) in any float dtype, temporal
            slot); the slot indexes ``maskmem_tpos_enc`` (see ``spatial_memory_tokens``).
        pointers: P >= 0 pairs (pointer (1, C), signed or absolute frame distance).
        pointer_distance_scale: distances are divided by it before their sine encoding (official
            ``min(num_frames, max_obj_ptrs_in_encoder) - 1``).
        """
        memory_bmc, memory_pos_bmc, num_pointer_tokens = self._memory_sequence(
            features.features_bchw, memories, pointers, pointer_distance_scale
        )
        device_type = features.features_bchw.device.type
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=self.bfloat16):
            fused_bchw = self.network.memory_attention(
                features.features_bchw, features.position_bchw, memory_bmc, memory_pos_bmc, num_pointer_tokens
            )
        fused_bchw = fused_bchw.float()
        arch = self.arch
        multimask = (
            arch.multimask_output_in_sam
            and arch.multimask_output_for_tracking
            and arch.multimask_min_pt_num <= 0 <= arch.multimask_max_pt_num
        )
        return self._decode(fused_bchw, features.high_res_features, self._no_points(), None, multimask)

    def _memory_sequence(self, image_bchw, memories, pointers, pointer_distance_scale):
        """The memory attention's input: spatial memory tokens, then pointer tokens."""
        grid_h, grid_w = image_bchw.shape[-2:]
        memory_pos_bchw = self.network.memory_encoder.position_encoding.grid(grid_h, grid_w, image_bchw.device)[None]
        # Memories may be stored in bfloat16 (as the official predictor stores them); they are
        # used in the features' precision, as torch.cat promotes them there officially.
        spatial_bmc, spatial_pos_bmc = spatial_memory_tokens(
            [memory.to(image_bchw.dtype) for memory, _ in memories],
            [memory_pos_bchw] * len(memories),
            [slot for _, slot in memories],
            self.network.maskmem_tpos_enc,
        )
        if not pointers:
            return spatial_bmc, spatial_pos_bmc, 0
        flags = self.arch.memory
        pointer_bmc, pointer_pos_bmc = object_pointer_tokens(
            [pointer for pointer, _ in pointers],
            [distance for _, distance in pointers],
            max_distance=pointer_distance_scale,
            memory_dim=flags.encoder.memory_dim,
            temporal_encoding=flags.pointer_temporal_encoding,
            temporal_projection=self.network.obj_ptr_tpos_proj if flags.pointer_temporal_projection else None,
        )
        memory_bmc = torch.cat([spatial_bmc, pointer_bmc], dim=1)
        memory_pos_bmc = torch.cat([spatial_pos_bmc, pointer_pos_bmc], dim=1)
        return memory_bmc, memory_pos_bmc, pointer_bmc.shape[1]

    # --- choosing and remembering ------------------------------------------------------------

    def choose(self, candidates: Candidates, index: int) -> FrameOutput:
        """The candidate ``index`` as the frame's output, with its object pointer."""
        present_b1 = (candidates.object_score_b1 > 0).to(candidates.iou_bk.dtype)
        pointer_bc = self._absent_pointer_rule(self.network.obj_ptr_proj(candidates.tokens_bkc[:, index]), present_b1)
        return FrameOutput(
            mask_logits_b1hw=candidates.mask_logits_bkhw[:, index : index + 1],
            iou_b1=candidates.iou_bk[:, index : index + 1],
            object_score_b1=candidates.object_score_b1,
            pointer_bc=pointer_bc,
        )

    def encode_memory(self, features: SamV2ImageFeatures, output: FrameOutput, from_prompt: bool) -> torch.Tensor:
        """The memory of a frame's output -> (1, C_mem, h / 16, w / 16), as ``SAM2Base`` makes it.

        from_prompt: the output comes from a prompt (points, box or mask): its mask is
            binarised rather than passed through a sigmoid (``binarize_mask_from_pts_for_mem_enc``,
            set by ``build_sam2_video_predictor``; the official predictor encodes every prompted
            frame's memory this way, mask prompts included).
        """
        flags = self.arch.memory
        mask_logits_b1hw = F.interpolate(output.mask_logits_b1hw, size=self.input_hw, mode="bilinear", align_corners=False)
        memory_bchw, _ = encode_new_memory(
            self.network.memory_encoder,
            features.features_bchw,
            mask_logits_b1hw,
            binarize=from_prompt and flags.binarize_click_masks,
            sigmoid_scale=flags.mask_sigmoid_scale,
            sigmoid_bias=flags.mask_sigmoid_bias,
            object_score_logits_b1=output.object_score_b1,
            no_object_embedding_1c=self.network.no_obj_embed_spatial,
        )
        return memory_bchw

    # --- shared ------------------------------------------------------------------------------

    def _decode(self, image_bchw, high_res_features, sparse_bnc, dense_bchw, multimask: bool) -> Candidates:
        """Runs the mask decoder and keeps three candidates or one, as ``SAM2Base`` does."""
        arch = self.arch
        if dense_bchw is None:
            dense_bchw = self.prompt_encoder.embed_masks(None)
        out = self.network.sam_mask_decoder(image_bchw, self.dense_pe_1chw, sparse_bnc, dense_bchw, high_res_features)
        logits_bkhw, iou_bk = select_masks(
            out.masks_bkhw, out.iou_bk, multimask, arch.dynamic_multimask_stability_delta, arch.dynamic_multimask_stability_thresh
        )
        if multimask and arch.use_multimask_token_for_obj_ptr:
            tokens_bkc = out.mask_tokens_bkc[:, 1:]
        else:
            # The single-mask token, even when the stability fallback chose a multi-mask candidate
            # (official MaskDecoder.forward).
            tokens_bkc = out.mask_tokens_bkc[:, :1].expand(-1, logits_bkhw.shape[1], -1)
        score_b1 = out.object_score_b1
        if score_b1 is None:
            score_b1 = iou_bk.new_full((1, 1), ALWAYS_PRESENT_SCORE)
        else:
            logits_bkhw = torch.where(score_b1[:, :, None, None] > 0, logits_bkhw, NO_OBJECT_LOGIT)
        return Candidates(logits_bkhw.float(), iou_bk, tokens_bkc, score_b1)

    def _absent_pointer_rule(self, pointer_bc: torch.Tensor, present_b1: torch.Tensor) -> torch.Tensor:
        """Where the object is absent the pointer is ``no_obj_ptr`` (with ``fixed_no_obj_ptr``)
        or the pointer plus ``no_obj_ptr`` (without)."""
        if not hasattr(self.network, "no_obj_ptr"):
            return pointer_bc
        if self.arch.fixed_no_obj_ptr:
            pointer_bc = present_b1 * pointer_bc
        return pointer_bc + (1 - present_b1) * self.network.no_obj_ptr

    def _no_points(self) -> torch.Tensor:
        """The sparse tokens of a prompt-less decode: one padding point, plus the appended one."""
        device = self.dense_pe_1chw.device
        points_bn2 = torch.zeros(1, 1, 2, device=device)
        labels_bn = torch.full((1, 1), PADDING, dtype=torch.long, device=device)
        return self.prompt_encoder.embed_points(points_bn2, labels_bn, pad=True)

    def _low_res_hw(self) -> tuple[int, int]:
        return (self.input_hw[0] // 4, self.input_hw[1] // 4)
