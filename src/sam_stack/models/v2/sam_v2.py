"""The SAM v2 / v2.1 network: every part of the official ``SAM2Base`` under the official names.

``SamV2(arch).state_dict()`` has exactly the keys of the official checkpoints (``{"model": ...}``
in the released ``.pt`` files), so they load with ``strict=True``. It holds the parts and the
learned vectors; the flows that use them live elsewhere (single images: ``model.py``; stacks and
videos: the tracker), since the memory bank is a value the caller owns (see ``DESIGN.md``).

Attributes (C = ``arch.hidden_dim`` = 256, C_mem = the memory width = 64 in the released models):
    arch: the :class:`~.model_architecture.SamV2Architecture` it was built from.
    image_encoder: :class:`~.image_encoder.HieraImageEncoder`, Hiera trunk + FPN neck.
    sam_prompt_encoder: the shared :class:`~..common.prompt_encoder.PromptEncoder`, built for
        ``arch.image_size``; :meth:`SamV2.prompt_encoder_for` gives it at other input sizes.
    sam_mask_decoder: the shared :class:`~..common.mask_decoder.MaskDecoder` with v2's switches;
        it also owns ``conv_s0`` / ``conv_s1``, the projections of the high-resolution features.
    memory_encoder: :class:`~.memory.MemoryEncoder`, a frame's features and mask -> a memory.
    memory_attention: :class:`~.memory.MemoryFusion`, a frame's features read the memory bank.
    maskmem_tpos_enc: (num_memory_frames, 1, 1, C_mem) learned encoding of each memory slot's
        distance in time.
    no_mem_embed: (1, 1, C) added to the features of a frame that has no memory to attend to,
        including every single image of the image predictor.
    no_mem_pos_enc: (1, 1, C) its position encoding; used only by models built without
        ``directly_add_no_mem_embed`` (none of the released ones), kept for loading.
    no_obj_ptr: (1, C) the object pointer of a frame where the object is absent (present when
        ``pred_obj_scores`` and ``use_obj_ptrs_in_encoder``).
    obj_ptr_proj: decoder mask token (C) -> object pointer (C): a 3-layer ReLU MLP, a Linear, or
        Identity when the model makes no pointers.
    mask_downsample: Conv2d(1, 1, 4, stride 4), a full-size mask prompt -> low-res decoder mask
        input, to make a pointer when a mask prompt is used directly as the output (absent when
        the model makes no pointers).
    no_obj_embed_spatial: (1, C_mem) v2.1 only (None in v2): added to the memories of frames
        where the object is absent.
    obj_ptr_tpos_proj: v2.1: Linear(C, C_mem), projects the temporal encoding of object pointers;
        v2: Identity (no weights).

Methods:
    encode_image(image_bchw) -> :class:`SamV2ImageFeatures`: the official ``forward_image``
        (encoder, then ``conv_s0`` / ``conv_s1`` on the two finer levels).
    prompt_encoder_for((H, W)): the prompt encoder for an input of another size than
        ``arch.image_size``, sharing its weights.
"""

import copy
from typing import NamedTuple

import torch
from torch import nn

from ..common.mask_decoder import MaskDecoder
from ..common.mlp import MLP
from ..common.prompt_encoder import PromptEncoder
from .image_encoder import HieraImageEncoder
from .memory import MemoryEncoder, MemoryFusion
from .model_architecture import SamV2Architecture


def use_mlp_feed_forward_names(decoder: MaskDecoder) -> None:
    """Gives the feed-forward of each two-way transformer block SAM2's key names.

    SAM v1 names the two ReLU layers of that feed-forward ``mlp.lin1`` / ``mlp.lin2`` (its
    ``MLPBlock``); SAM2 builds the same two layers from its generic ``MLP`` class, so its
    checkpoints name them ``mlp.layers.0`` / ``mlp.layers.1``. The computation is the same.
    """
    for block in decoder.transformer.layers:
        dim, hidden_dim = block.mlp.lin1.in_features, block.mlp.lin1.out_features
        block.mlp = MLP(dim, hidden_dim, dim, 2)


class SamV2ImageFeatures(NamedTuple):
    """What the decoder and the memory parts need of one encoded image (B images).

    features_bchw: (B, C, H / 16, W / 16) the image embedding, the lowest-resolution FPN level
        (without ``no_mem_embed``: a single image adds it, a tracked frame fuses memories).
    position_bchw: (B, C, H / 16, W / 16) its sine position encoding (for the memory attention);
        a broadcast view over the batch: read it, do not write into it.
    high_res_features: the two finer levels after the decoder's ``conv_s0`` / ``conv_s1``:
        (B, C / 8, H / 4, W / 4) and (B, C / 4, H / 8, W / 8); None for a model built without
        ``use_high_res_features_in_sam``.
    """

    features_bchw: torch.Tensor
    position_bchw: torch.Tensor
    high_res_features: tuple[torch.Tensor, torch.Tensor] | None

    def to(self, dtype: torch.dtype) -> "SamV2ImageFeatures":
        """The same features in ``dtype`` (e.g. float32 after a bfloat16 encoder)."""
        high_res = None if self.high_res_features is None else tuple(level.to(dtype) for level in self.high_res_features)
        return SamV2ImageFeatures(self.features_bchw.to(dtype), self.position_bchw.to(dtype), high_res)


class SamV2(nn.Module):
    """Holds every part of a SAM v2 / v2.1 model (see the module docstring for the attributes)."""

    def __init__(self, arch: SamV2Architecture) -> None:
        super().__init__()
        self.arch = arch
        hidden_dim = arch.hidden_dim
        memory_dim = arch.memory.encoder.memory_dim
        grid = arch.image_size // arch.backbone_stride

        self.image_encoder = HieraImageEncoder(arch.image_encoder)
        self.sam_prompt_encoder = PromptEncoder(hidden_dim, (grid, grid), (arch.image_size, arch.image_size))
        self.sam_mask_decoder = MaskDecoder(
            hidden_dim,
            use_high_res_features=arch.use_high_res_features_in_sam,
            iou_prediction_use_sigmoid=arch.iou_prediction_use_sigmoid,
            pred_obj_scores=arch.pred_obj_scores,
            pred_obj_scores_mlp=arch.pred_obj_scores_mlp,
        )
        use_mlp_feed_forward_names(self.sam_mask_decoder)
        self.memory_encoder = MemoryEncoder(arch.memory.encoder)
        self.memory_attention = MemoryFusion(arch.memory.fusion)

        self.maskmem_tpos_enc = nn.Parameter(torch.zeros(arch.memory.num_memory_frames, 1, 1, memory_dim))
        self.no_mem_embed = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        self.no_mem_pos_enc = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        if arch.pred_obj_scores and arch.use_obj_ptrs_in_encoder:
            self.no_obj_ptr = nn.Parameter(torch.zeros(1, hidden_dim))
        if arch.use_obj_ptrs_in_encoder:
            self.mask_downsample = nn.Conv2d(1, 1, kernel_size=4, stride=4)
            if arch.use_mlp_for_obj_ptr_proj:
                self.obj_ptr_proj = MLP(hidden_dim, hidden_dim, hidden_dim, 3)
            else:
                self.obj_ptr_proj = nn.Linear(hidden_dim, hidden_dim)
        else:
            self.obj_ptr_proj = nn.Identity()
        self.no_obj_embed_spatial = (
            nn.Parameter(torch.zeros(1, memory_dim)) if arch.memory.no_object_embedding else None
        )
        self.obj_ptr_tpos_proj = (
            nn.Linear(hidden_dim, memory_dim) if arch.memory.pointer_temporal_projection else nn.Identity()
        )
        # Prompt encoders for other input sizes, sharing this one's weights (prompt_encoder_for).
        self._prompt_encoders: dict[tuple[int, int], PromptEncoder] = {}

    def encode_image(self, image_bchw: torch.Tensor) -> SamV2ImageFeatures:
        """(B, 3, H, W) normalised images (H, W multiples of 32) -> :class:`SamV2ImageFeatures`.

        As the official ``forward_image``: the encoder's three levels, the two finer ones
        projected by the mask decoder's ``conv_s0`` / ``conv_s1`` once per image rather than once
        per prompt.
        """
        encoded = self.image_encoder(image_bchw)
        high_res = None
        if self.arch.use_high_res_features_in_sam:
            level0_bchw, level1_bchw = encoded.backbone_fpn[:2]
            high_res = (self.sam_mask_decoder.conv_s0(level0_bchw), self.sam_mask_decoder.conv_s1(level1_bchw))
        return SamV2ImageFeatures(encoded.vision_features, encoded.vision_pos_enc[-1], high_res)

    def prompt_encoder_for(self, input_hw: tuple[int, int]) -> PromptEncoder:
        """The prompt encoder for an input of ``input_hw`` = (H, W) pixels, feature grid
        (H / 16, W / 16).

        The official model fixes its input size when it is built (``image_size``); the prompt
        encoder's weights do not depend on it, only the pixel size that point coordinates are
        divided by and the grid of the dense encodings. For another size this returns a shallow
        copy that shares every weight (moving or loading this network updates it too) with the
        two sizes changed, made once per size.
        """
        input_hw = (int(input_hw[0]), int(input_hw[1]))
        if input_hw == tuple(self.sam_prompt_encoder.input_image_size):
            return self.sam_prompt_encoder
        if input_hw not in self._prompt_encoders:
            resized = copy.copy(self.sam_prompt_encoder)
            resized.input_image_size = input_hw
            resized.image_embedding_size = (input_hw[0] // self.arch.backbone_stride, input_hw[1] // self.arch.backbone_stride)
            self._prompt_encoders[input_hw] = resized
        return self._prompt_encoders[input_hw]
