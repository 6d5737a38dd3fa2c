"""Checkpoint files of tiny random-weight models, for tests that run whole scripts and commands.

Each starts as an official model with random weights (``official_v1``, ``official_v2``) saved in
the official format and loaded by ``sam_stack.load_model``. Official files hold no input size,
so they load at 1024 x 1024, which is slow on a shared CPU; the files written here are that
model saved with ``model.save`` and its input side made small (v1: 128, with the position tables
cut to the 8 x 8 grid; v2: 128), so that each image is encoded in a fraction of a second.
"""

from pathlib import Path

import torch

from official_v1 import SMALL_VIT, build_official_sam
from official_v1 import save_official_checkpoint as save_official_v1
from official_v2 import build_official_sam2
from official_v2 import save_official_checkpoint as save_official_v2

import sam_stack

V1_SIDE = 128
V2_SIDE = 128


def official_v1_file(path: Path, seed: int = 0) -> Path:
    """A 2-block ViT SAM v1 in the official ``.pth`` format."""
    save_official_v1(build_official_sam(SMALL_VIT, seed=seed), path)
    return path


def official_v2_file(path: Path, version: str = "v2.1", seed: int = 0) -> Path:
    """A shrunk SAM v2 / v2.1 in the official ``{"model": ...}`` format."""
    save_official_v2(build_official_sam2(version, small=True, seed=seed), path)
    return path


def fast_v1_file(path: Path, seed: int = 0) -> Path:
    """The model of ``official_v1_file`` at a 128 x 128 input, in ``model.save``'s format."""
    payload = _saved_payload(official_v1_file(path.with_suffix(".official.pth"), seed), path)
    grid = V1_SIDE // payload["sam_stack"]["architecture"]["patch_size"]
    payload["sam_stack"]["architecture"]["image_size"] = V1_SIDE
    weights = payload["model"]
    weights["image_encoder.pos_embed"] = weights["image_encoder.pos_embed"][:, :grid, :grid].clone()
    for index in payload["sam_stack"]["architecture"]["global_attn_indexes"]:
        for axis in ("h", "w"):
            key = f"image_encoder.blocks.{index}.attn.rel_pos_{axis}"
            # A global block's table holds one row per relative offset across the grid.
            middle = weights[key].shape[0] // 2
            weights[key] = weights[key][middle - grid + 1 : middle + grid].clone()
    torch.save(payload, path)
    return path


def fast_v2_file(path: Path, version: str = "v2.1", seed: int = 0) -> Path:
    """The model of ``official_v2_file`` at a 128 x 128 input, in ``model.save``'s format."""
    payload = _saved_payload(official_v2_file(path.with_suffix(".official.pt"), version, seed), path)
    payload["sam_stack"]["architecture"]["image_size"] = V2_SIDE
    torch.save(payload, path)
    return path


def _saved_payload(official: Path, path: Path) -> dict:
    sam_stack.load_model(official, device="cpu").save(path)
    official.unlink()
    return torch.load(path, weights_only=True)
