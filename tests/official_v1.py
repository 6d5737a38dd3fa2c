"""Official SAM v1 models with random weights, saved in the official checkpoint format.

Correctness rests on parity with Meta's ``segment-anything`` on the same weights: we build its
model, re-randomise every tensor (many start at 0 or 1, which would hide mistakes such as a
swapped norm or a missing bias), save the raw state dict as the official ``.pth`` files are,
and load that file with ``sam_stack.load_model``.
"""

import math

import torch

# A 2-block ViT (one windowed, one global block) keeps the everyday suite fast while still
# running every code path of the encoder; the decoder is always full size.
SMALL_VIT = dict(encoder_embed_dim=64, encoder_depth=2, encoder_num_heads=2, encoder_global_attn_indexes=[1])
OFFICIAL_VITS = {
    "vit_b": dict(encoder_embed_dim=768, encoder_depth=12, encoder_num_heads=12, encoder_global_attn_indexes=[2, 5, 8, 11]),
    "vit_l": dict(encoder_embed_dim=1024, encoder_depth=24, encoder_num_heads=16, encoder_global_attn_indexes=[5, 11, 17, 23]),
    "vit_h": dict(encoder_embed_dim=1280, encoder_depth=32, encoder_num_heads=16, encoder_global_attn_indexes=[7, 15, 23, 31]),
}


def randomise_(module: torch.nn.Module, seed: int) -> None:
    """Overwrites every tensor of the state dict with seeded noise, scaled by fan-in so that
    activations stay of order one through the network."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            fan_in = tensor[0].numel() if tensor.dim() > 1 else 1
            std = 1.0 / math.sqrt(fan_in) if tensor.dim() > 1 else 0.2
            if name.endswith("positional_encoding_gaussian_matrix"):
                std = 1.0  # the official initialisation: unit Gaussian frequencies
            noise = torch.randn(tensor.shape, generator=generator) * std
            if name.endswith(("norm1.weight", "norm2.weight", "norm3.weight", "norm4.weight", "norm_final_attn.weight")):
                noise += 1.0  # keep layer norms from squashing everything towards zero
            tensor.copy_(noise)


def build_official_sam(config: dict, seed: int = 0):
    """The official ``Sam`` with the given ViT and random weights, in eval mode on the CPU."""
    from segment_anything.build_sam import _build_sam

    sam = _build_sam(**config).eval()
    randomise_(sam, seed)
    return sam


def save_official_checkpoint(sam, path) -> None:
    """Writes a raw state dict, as the published ``sam_vit_*.pth`` files are."""
    torch.save(sam.state_dict(), path)
