"""Hyper-parameters of SAM v2's memory parts, their official values, and how to read them from weights.

The memory encoder and the memory attention are the same in every released size (tiny, small,
base+, large) of v2 and v2.1. What changes from v2 to v2.1 is how the model around them uses
them: v2.1 marks memories of frames where the object is absent with a learned embedding, and
gives object pointers a projected, signed temporal encoding. Those settings live on SAM2Base in
the official code; :class:`MemoryArchitecture` keeps them beside the parts they feed.
"""

import re
from dataclasses import asdict, dataclass, field

import torch

from ....errors import CheckpointError


@dataclass(frozen=True)
class MemoryEncoderArchitecture:
    """The memory encoder (official ``memory_encoder`` config section).

    Attributes:
        image_dim: channels of the image features it reads (``in_dim``, the neck's d_model).
        memory_dim: channels of the memories it writes (``out_dim``).
        mask_kernel_size, mask_stride, mask_padding, mask_total_stride: the mask downsampler's
            strided convolutions; the total stride is that of the image features (16).
        fuser_depth: ConvNeXt blocks in the fuser.
        fuser_kernel_size: their depthwise kernel.
    """

    image_dim: int = 256
    memory_dim: int = 64
    mask_kernel_size: int = 3
    mask_stride: int = 2
    mask_padding: int = 1
    mask_total_stride: int = 16
    fuser_depth: int = 2
    fuser_kernel_size: int = 7


@dataclass(frozen=True)
class MemoryFusionArchitecture:
    """The memory attention (official ``memory_attention`` config section).

    Attributes:
        dim: width of the image tokens (``d_model``).
        memory_dim: width of the memory tokens (the cross-attention's ``kv_in_dim``).
        depth: layers (``num_layers``).
        num_heads: heads of both attentions.
        feedforward_dim: hidden width of the ReLU feed-forward (``dim_feedforward``).
        rope_theta: base of the rotary frequencies.
    """

    dim: int = 256
    memory_dim: int = 64
    depth: int = 4
    num_heads: int = 1
    feedforward_dim: int = 2048
    rope_theta: float = 10000.0


@dataclass(frozen=True)
class MemoryArchitecture:
    """The memory parts of a SAM v2 / v2.1 model and the SAM2Base settings that govern their use.

    Attributes:
        encoder, fusion: the two parts.
        num_memory_frames: memories attended to, the prompted frames sharing one temporal slot
            plus the ``num_memory_frames - 1`` latest other frames (``num_maskmem``).
        max_object_pointers: object pointers attended to (``max_obj_ptrs_in_encoder``).
        mask_sigmoid_scale, mask_sigmoid_bias: applied to the mask probabilities before the
            memory encoder (``sigmoid_scale_for_mem_enc``, ``sigmoid_bias_for_mem_enc``).
        binarize_click_masks: whether masks predicted from clicks are thresholded at 0 instead
            of passed through a sigmoid before memory encoding
            (``binarize_mask_from_pts_for_mem_enc``; False in the configs, set True by
            ``build_sam2_video_predictor``, which is how the video model is always built).
        no_object_embedding: whether the model has a learned embedding added to the memories
            of frames where the object is absent (``no_obj_embed_spatial``, v2.1).
        pointer_temporal_encoding: whether object pointers get a temporal position encoding
            (``add_tpos_enc_to_obj_ptrs``; without it their position encoding is zero).
        pointer_temporal_projection: whether that encoding is computed at the image width and
            projected to the memory width by ``obj_ptr_tpos_proj`` (``proj_tpos_enc_in_obj_ptrs``).
        signed_pointer_distance: whether the encoding uses the signed frame distance rather
            than its absolute value (``use_signed_tpos_enc_to_obj_ptrs``).
    """

    encoder: MemoryEncoderArchitecture = field(default_factory=MemoryEncoderArchitecture)
    fusion: MemoryFusionArchitecture = field(default_factory=MemoryFusionArchitecture)
    num_memory_frames: int = 7
    max_object_pointers: int = 16
    mask_sigmoid_scale: float = 20.0
    mask_sigmoid_bias: float = -10.0
    binarize_click_masks: bool = True
    no_object_embedding: bool = True
    pointer_temporal_encoding: bool = True
    pointer_temporal_projection: bool = True
    signed_pointer_distance: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "MemoryArchitecture":
        return cls(
            **{
                **data,
                "encoder": MemoryEncoderArchitecture(**data["encoder"]),
                "fusion": MemoryFusionArchitecture(**data["fusion"]),
            }
        )


# The released models (sam2/configs/sam2/*.yaml and sam2/configs/sam2.1/*.yaml): the same for
# every size of a version.
OFFICIAL_MEMORY = {
    "v2": MemoryArchitecture(
        no_object_embedding=False,
        pointer_temporal_encoding=False,
        pointer_temporal_projection=False,
        signed_pointer_distance=False,
    ),
    "v2.1": MemoryArchitecture(),
}

_ENCODER = "memory_encoder."
_FUSION = "memory_attention."
_DOWNSAMPLER_CONV = re.compile(r"^memory_encoder\.mask_downsampler\.encoder\.(\d+)\.weight$")
_FUSER_BLOCK = re.compile(r"^memory_encoder\.fuser\.layers\.(\d+)\.dwconv\.weight$")
_FUSION_LAYER = re.compile(r"^memory_attention\.layers\.(\d+)\.norm1\.weight$")


def memory_architecture_from_state_dict(state_dict: dict[str, torch.Tensor]) -> MemoryArchitecture:
    """Reads the memory hyper-parameters of a v2 / v2.1 model from its tensors' shapes.

    ``state_dict`` holds the official key names (``memory_encoder.*``, ``memory_attention.*`` and
    the top-level ``maskmem_tpos_enc``, ``no_obj_embed_spatial``, ``obj_ptr_tpos_proj.*``).

    Not stored in any tensor, and taken from the released models: the attention head count (1),
    the rotary theta, the downsampler's padding (``kernel_size // 2``), the sigmoid scale and bias,
    binarisation of click masks, and the maximum number of object pointers. The three
    object-pointer encoding switches are read together from ``obj_ptr_tpos_proj``: in the released
    models they are all on (v2.1, which has the projection) or all off (v2).
    """
    try:
        image_dim = state_dict[_ENCODER + "pix_feat_proj.weight"].shape[0]
        fusion_dim = state_dict[_FUSION + "norm.weight"].shape[0]
        first_fusion_layer = _FUSION + "layers.0."
        fusion_memory_dim = state_dict[first_fusion_layer + "cross_attn_image.k_proj.weight"].shape[1]
        feedforward_dim = state_dict[first_fusion_layer + "linear1.weight"].shape[0]
    except KeyError as missing:
        raise CheckpointError(f"not a SAM v2 state dict: tensor {missing} is missing") from None

    out_proj = state_dict.get(_ENCODER + "out_proj.weight")
    memory_dim = image_dim if out_proj is None else out_proj.shape[0]

    conv_indexes = sorted(
        int(m.group(1))
        for key, tensor in state_dict.items()
        if (m := _DOWNSAMPLER_CONV.match(key)) and tensor.ndim == 4
    )
    if len(conv_indexes) < 2:
        raise CheckpointError("not a SAM v2 state dict: the mask downsampler has no strided convolutions")
    first_conv = state_dict[f"{_ENCODER}mask_downsampler.encoder.{conv_indexes[0]}.weight"]
    # The first convolution reads the 1-channel mask and writes stride ** 2 channels.
    mask_stride = round(first_conv.shape[0] ** 0.5)
    num_strided = len(conv_indexes) - 1
    mask_kernel_size = first_conv.shape[-1]

    fuser_blocks = [key for key in state_dict if _FUSER_BLOCK.match(key)]
    if not fuser_blocks:
        raise CheckpointError("not a SAM v2 state dict: the memory encoder's fuser has no blocks")
    fuser_kernel_size = state_dict[fuser_blocks[0]].shape[-1]
    fusion_depth = sum(1 for key in state_dict if _FUSION_LAYER.match(key))

    tpos = state_dict.get("maskmem_tpos_enc")
    pointer_projection = "obj_ptr_tpos_proj.weight" in state_dict
    return MemoryArchitecture(
        encoder=MemoryEncoderArchitecture(
            image_dim=image_dim,
            memory_dim=memory_dim,
            mask_kernel_size=mask_kernel_size,
            mask_stride=mask_stride,
            mask_padding=mask_kernel_size // 2,
            mask_total_stride=mask_stride**num_strided,
            fuser_depth=len(fuser_blocks),
            fuser_kernel_size=fuser_kernel_size,
        ),
        fusion=MemoryFusionArchitecture(
            dim=fusion_dim,
            memory_dim=fusion_memory_dim,
            depth=fusion_depth,
            feedforward_dim=feedforward_dim,
        ),
        num_memory_frames=MemoryArchitecture.num_memory_frames if tpos is None else tpos.shape[0],
        no_object_embedding="no_obj_embed_spatial" in state_dict,
        pointer_temporal_encoding=pointer_projection,
        pointer_temporal_projection=pointer_projection,
        signed_pointer_distance=pointer_projection,
    )
