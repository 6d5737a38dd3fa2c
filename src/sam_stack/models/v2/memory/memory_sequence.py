"""Turns a caller-owned memory bank into the token sequence that :class:`MemoryFusion` reads.

This is the arithmetic of ``SAM2Base._prepare_memory_conditioned_features`` once the frames to use
have been chosen: spatial memories become tokens whose position encoding gets a learned temporal
encoding, object pointers become tokens with a sine encoding of their distance in frames. The
memory sequence is the spatial tokens followed by the pointer tokens:

    memory_bmc = torch.cat([spatial_bmc, pointers_bmc], dim=1)
    memory_pos_bmc = torch.cat([spatial_pos_bmc, pointers_pos_bmc], dim=1)
    fused_bchw = fusion(image_bchw, image_pos_bchw, memory_bmc, memory_pos_bmc, pointers_bmc.shape[1])

Which frames to use, and in which temporal slot, is the tracker's choice (see the notes of
``spatial_memory_tokens`` and ``object_pointer_tokens``).
"""

from collections.abc import Sequence

import torch
from torch import nn


def spatial_memory_tokens(
    memories_bchw: Sequence[torch.Tensor],
    memories_pos_bchw: Sequence[torch.Tensor],
    temporal_slots: Sequence[int],
    memory_temporal_encoding_t11c: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flattens F memories into tokens; adds each one's temporal encoding to its position encoding.

    Args:
        memories_bchw: F memories (B, C_mem, H, W) from the memory encoder.
        memories_pos_bchw: their F position encodings (B, C_mem, H, W).
        temporal_slots: F indices into ``memory_temporal_encoding_t11c``. The official slots are
            ``num_maskmem - 1`` (the last one) for every prompted (conditioning) frame, and
            ``k - 1`` for the k-th most recent other frame, k = 1 ... num_maskmem - 1 (the
            official ``num_maskmem - t_pos - 1``).
        memory_temporal_encoding_t11c: the model's top-level ``maskmem_tpos_enc``,
            (num_maskmem, 1, 1, C_mem).

    Returns:
        tokens_bmc: (B, F * H * W, C_mem) and pos_bmc: (B, F * H * W, C_mem), frame after frame,
        each frame's grid row-major (the layout :class:`MemoryFusion` expects).
    """
    tokens = [memory.flatten(2).transpose(1, 2) for memory in memories_bchw]
    positions = [
        pos.flatten(2).transpose(1, 2) + memory_temporal_encoding_t11c[slot].view(1, 1, -1)
        for pos, slot in zip(memories_pos_bchw, temporal_slots, strict=True)
    ]
    return torch.cat(tokens, dim=1), torch.cat(positions, dim=1)


def sine_encoding_1d(positions_n: torch.Tensor, dim: int, temperature: float = 10000) -> torch.Tensor:
    """(N,) positions -> (N, dim): dim / 2 sines, then dim / 2 cosines (official ``get_1d_sine_pe``).

    Unlike the 2-D image encoding, sines and cosines are not interleaved, and frequencies come in
    equal pairs: channel i (and i + dim / 2) uses ``temperature ** (2 * (i // 2) / (dim / 2))``.
    """
    half = dim // 2
    channel_index = torch.arange(half, dtype=torch.float32, device=positions_n.device)
    wavelengths = temperature ** (2 * (channel_index // 2) / half)
    angles_nc = positions_n[:, None] / wavelengths
    return torch.cat([angles_nc.sin(), angles_nc.cos()], dim=-1)


def object_pointer_tokens(
    pointers_bc: Sequence[torch.Tensor],
    frame_distances: Sequence[int],
    *,
    max_distance: int,
    memory_dim: int,
    temporal_encoding: bool = True,
    temporal_projection: nn.Module | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Splits P object pointers into memory-width tokens and encodes how far back each one is.

    Args:
        pointers_bc: P >= 1 object pointers (B, C) from the mask decoder (C = 256). With no
            pointers, leave the pointer tokens out of the memory sequence (0 pointer tokens).
        frame_distances: P distances in frames from the current frame (see the official rules in
            SAM2Base: for a prompted frame t, ``frame_idx - t`` (times -1 when tracking in
            reverse) in v2.1, ``abs(frame_idx - t)`` in v2; for the k-th frame back, k).
        max_distance: the normaliser, ``min(num_frames, max_obj_ptrs_in_encoder) - 1`` in the
            official code; distances are divided by it before the sine encoding.
        memory_dim: C_mem; each pointer becomes C / C_mem tokens (4 in the released models).
        temporal_encoding: ``add_tpos_enc_to_obj_ptrs``; without it the encoding is zero (v2).
        temporal_projection: ``obj_ptr_tpos_proj`` (Linear C -> C_mem) for v2.1, which encodes
            at width C and projects; None encodes at width C_mem directly.

    Returns:
        tokens_bmc: (B, P * C / C_mem, C_mem), the pieces of pointer 0, then of pointer 1, ...;
        pos_bmc: (B, P * C / C_mem, C_mem), each pointer's encoding repeated for its pieces.
    """
    tokens_bpc = torch.stack(list(pointers_bc), dim=1)
    batch, num_pointers, channels = tokens_bpc.shape
    pieces = channels // memory_dim
    if temporal_encoding:
        distances_p = torch.tensor(list(frame_distances), device=tokens_bpc.device) / max_distance
        encoding_dim = memory_dim if temporal_projection is None else channels
        pos_pc = sine_encoding_1d(distances_p, encoding_dim)
        if temporal_projection is not None:
            pos_pc = temporal_projection(pos_pc)
    else:
        pos_pc = tokens_bpc.new_zeros(num_pointers, memory_dim)
    tokens_bmc = tokens_bpc.reshape(batch, num_pointers * pieces, memory_dim)
    pos_bmc = pos_pc.repeat_interleave(pieces, dim=0).expand(batch, -1, -1)
    return tokens_bmc, pos_bmc
