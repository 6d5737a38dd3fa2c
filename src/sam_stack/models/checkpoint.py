"""Reading model files: official SAM v1 (.pth, a raw state dict), official SAM2/2.1 (.pt,
``{"model": state_dict}``) and our own files (``{"model": ..., "sam_stack": {...}}``).

Files are read with ``weights_only=True``: nothing but tensors and plain containers is ever
unpickled. Which model a file holds is decided from its tensors, never from its name.
"""

import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import CheckpointError


@dataclass
class Checkpoint:
    """A model file's tensors and, for files we wrote, the metadata saved with them."""

    path: Path
    state_dict: dict[str, torch.Tensor]
    metadata: dict | None


def read_checkpoint(path) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {path}; expected the path of a .pth or .pt model file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=_is_zip(path))
    except pickle.UnpicklingError as error:
        if "Unsupported global" in str(error) or "Unsupported class" in str(error):
            raise CheckpointError(
                f"{path} holds Python objects other than tensors, which are not loaded for safety "
                "(weights_only=True); expected a checkpoint of tensors only"
            ) from None
        raise CheckpointError(f"{path} is not a PyTorch checkpoint (the unpickler failed: {type(error).__name__})") from None
    except Exception as error:  # noqa: BLE001 - torch.load fails on garbage with many exception types
        raise CheckpointError(
            f"{path} could not be read as a PyTorch checkpoint: it is truncated, corrupt or not a model file "
            f"({type(error).__name__}: {str(error).splitlines()[0][:200]})"
        ) from None
    return _unwrap(path, payload)


def _is_zip(path: Path) -> bool:
    # Memory-mapping avoids a second copy of large weights, but works for zip-format files only.
    return zipfile.is_zipfile(path)


def _unwrap(path: Path, payload) -> Checkpoint:
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path} holds a {type(payload).__name__}; expected a dict of tensors (a state dict)")
    metadata = payload.get("sam_stack") if isinstance(payload.get("sam_stack"), dict) else None
    state_dict = payload["model"] if isinstance(payload.get("model"), dict) else payload
    tensors = {key: value for key, value in state_dict.items() if isinstance(value, torch.Tensor)}
    if not tensors:
        raise CheckpointError(f"{path} holds no tensors (keys: {_some(state_dict)}); expected a model's state dict")
    return Checkpoint(path, tensors, metadata)


def _some(keys, limit: int = 5) -> str:
    keys = list(keys)
    shown = ", ".join(repr(k) for k in keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def detect_version(state_dict: dict[str, torch.Tensor]) -> str:
    """"v1", "v2" or "v2.1" from the tensors present.

    v2 models have a Hiera trunk and a memory encoder; v2.1 added the spatial "no object"
    embedding and the projection of object pointers' temporal encoding.
    """
    if "image_encoder.trunk.patch_embed.proj.weight" in state_dict and "memory_encoder.out_proj.weight" in state_dict:
        return "v2.1" if "no_obj_embed_spatial" in state_dict else "v2"
    if "image_encoder.patch_embed.proj.weight" in state_dict and "image_encoder.pos_embed" in state_dict:
        return "v1"
    raise CheckpointError(
        f"the tensors do not belong to a SAM v1, v2 or v2.1 model (first keys: {_some(state_dict)}); "
        "expected an official Segment Anything checkpoint or a file written by model.save"
    )


def describe_mismatch(expected: set[str], found: set[str]) -> str:
    """One sentence naming a few keys that did not fit, for error messages."""
    parts = []
    if missing := sorted(expected - found):
        parts.append(f"{len(missing)} tensor(s) missing, e.g. {_some(missing, 3)}")
    if unexpected := sorted(found - expected):
        parts.append(f"{len(unexpected)} unexpected tensor(s), e.g. {_some(unexpected, 3)}")
    return "; ".join(parts)
