"""The hyper-parameters of a SAM v1 model, and how to read them back from a checkpoint's tensors."""

import re
from dataclasses import asdict, dataclass

import torch

from ...errors import CheckpointError


@dataclass(frozen=True)
class VitArchitecture:
    """Everything needed to build a SAM v1 model. The decoder side is the same for every size."""

    embed_dim: int
    depth: int
    num_heads: int
    global_attn_indexes: tuple[int, ...]
    window_size: int = 14
    patch_size: int = 16
    image_size: int = 1024
    mlp_ratio: float = 4.0
    out_chans: int = 256
    prompt_dim: int = 256

    def to_dict(self) -> dict:
        data = asdict(self)
        data["global_attn_indexes"] = list(self.global_attn_indexes)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "VitArchitecture":
        return cls(**{**data, "global_attn_indexes": tuple(data["global_attn_indexes"])})


# The three published sizes (segment_anything.build_sam).
OFFICIAL_SIZES = {
    "vit_b": VitArchitecture(embed_dim=768, depth=12, num_heads=12, global_attn_indexes=(2, 5, 8, 11)),
    "vit_l": VitArchitecture(embed_dim=1024, depth=24, num_heads=16, global_attn_indexes=(5, 11, 17, 23)),
    "vit_h": VitArchitecture(embed_dim=1280, depth=32, num_heads=16, global_attn_indexes=(7, 15, 23, 31)),
}

_BLOCK_KEY = re.compile(r"^image_encoder\.blocks\.(\d+)\.")


def vit_architecture_from_state_dict(state_dict: dict[str, torch.Tensor]) -> tuple[VitArchitecture, str]:
    """Reads a v1 model's hyper-parameters from tensor shapes alone; returns it and its size name
    ("vit_b", "vit_l", "vit_h", or "custom").

    The head count is not stored in any shape directly: it is the width divided by the per-head
    width of the relative position tables. Global blocks are those whose tables span the whole
    token grid rather than one window.
    """
    try:
        patch = state_dict["image_encoder.patch_embed.proj.weight"]
        pos = state_dict["image_encoder.pos_embed"]
        out_chans = state_dict["image_encoder.neck.0.weight"].shape[0]
        prompt_dim = state_dict["prompt_encoder.no_mask_embed.weight"].shape[1]
    except KeyError as missing:
        raise CheckpointError(f"not a SAM v1 state dict: tensor {missing} is missing") from None
    embed_dim, patch_size = patch.shape[0], patch.shape[-1]
    mlp_dim = state_dict["image_encoder.blocks.0.mlp.lin1.weight"].shape[0]
    grid = pos.shape[1]
    depth = 1 + max(int(m.group(1)) for key in state_dict if (m := _BLOCK_KEY.match(key)))
    table_lengths = [state_dict[f"image_encoder.blocks.{i}.attn.rel_pos_h"].shape[0] for i in range(depth)]
    head_dim = state_dict["image_encoder.blocks.0.attn.rel_pos_h"].shape[1]
    global_blocks = tuple(i for i, length in enumerate(table_lengths) if length == 2 * grid - 1)
    windowed = [length for length in table_lengths if length != 2 * grid - 1]
    arch = VitArchitecture(
        embed_dim=embed_dim,
        depth=depth,
        num_heads=embed_dim // head_dim,
        global_attn_indexes=global_blocks,
        window_size=(windowed[0] + 1) // 2 if windowed else 14,
        patch_size=patch_size,
        mlp_ratio=mlp_dim / embed_dim,
        image_size=grid * patch_size,
        out_chans=out_chans,
        prompt_dim=prompt_dim,
    )
    size = next((name for name, official in OFFICIAL_SIZES.items() if official == arch), "custom")
    return arch, size
