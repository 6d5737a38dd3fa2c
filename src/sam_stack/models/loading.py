"""``load_model``: from a file or a catalog name to a ready model on a device."""

import torch

from ..errors import CheckpointError
from .catalog import resolve
from .checkpoint import Checkpoint, describe_mismatch, detect_version, read_checkpoint
from .segment_anything_model import SegmentAnythingModel
from .v1.architecture import VitArchitecture, vit_architecture_from_state_dict
from .v1.model import SamV1Model
from .v1.sam_v1 import SamV1
from .v2.model import SamV2Model
from .v2.model_architecture import SamV2Architecture, samv2_architecture_from_state_dict
from .v2.sam_v2 import SamV2


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto" picks CUDA, then Apple's MPS, then the CPU."""
    if str(device) != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def load_model(source, device: str | torch.device = "auto") -> SegmentAnythingModel:
    """Loads an official SAM v1, SAM2 or SAM2.1 checkpoint, a file written by ``model.save``, or
    a catalog name (see ``list_models``), downloaded once into the cache and checked.

    Version and size are read from the weights. Errors a user can cause raise
    :class:`~sam_stack.errors.CheckpointError` with a message saying what was found and what
    was expected.
    """
    checkpoint = read_checkpoint(resolve(source))
    version = detect_version(checkpoint.state_dict)
    if version == "v1":
        return _build_v1(checkpoint, resolve_device(device))
    return _build_v2(checkpoint, resolve_device(device))


def _build_v1(checkpoint: Checkpoint, device: torch.device) -> SamV1Model:
    if checkpoint.metadata is not None:
        arch = VitArchitecture.from_dict(checkpoint.metadata["architecture"])
        size = checkpoint.metadata["size"]
    else:
        arch, size = vit_architecture_from_state_dict(checkpoint.state_dict)
    network = SamV1(arch)
    _load_weights(network, checkpoint)
    return SamV1Model(network, size, device)


def _build_v2(checkpoint: Checkpoint, device: torch.device) -> SamV2Model:
    if checkpoint.metadata is not None:
        arch = SamV2Architecture.from_dict(checkpoint.metadata["architecture"])
        size = checkpoint.metadata["size"]
    else:
        arch, size = samv2_architecture_from_state_dict(checkpoint.state_dict)
    network = SamV2(arch)
    _load_weights(network, checkpoint)
    return SamV2Model(network, size, device)


def _load_weights(network: torch.nn.Module, checkpoint: Checkpoint) -> None:
    expected = network.state_dict()
    found = checkpoint.state_dict
    if expected.keys() != found.keys():
        raise CheckpointError(
            f"{checkpoint.path} does not fit the model it seems to hold: {describe_mismatch(set(expected), set(found))}"
        )
    wrong = [k for k, v in expected.items() if v.shape != found[k].shape]
    if wrong:
        shapes = ", ".join(f"{k}: {tuple(found[k].shape)} instead of {tuple(expected[k].shape)}" for k in wrong[:3])
        raise CheckpointError(f"{checkpoint.path} has tensors of unexpected shapes ({shapes})")
    network.load_state_dict(found, strict=True)
