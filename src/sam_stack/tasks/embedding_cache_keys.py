"""What identifies an image encoding: the pixels the model saw, the model, and its input size.

Two encodings are interchangeable exactly when the same weights encoded the same 8-bit RGB
pixels, resized to the same input, at the same precision. :class:`EmbeddingKey` holds a digest
of each; its :meth:`~EmbeddingKey.digest` names the entry on disk, and the fields themselves are
written into the entry so that a file renamed, copied from another cache or left by another
model is recognised as not ours.
"""

import hashlib
import json
import weakref
from dataclasses import asdict, dataclass

import numpy as np
import torch

SAMPLED_BYTES_PER_TENSOR = 64 * 1024
"""How much of each weight tensor goes into a model's digest: fine-tuning changes (nearly) every
element, so the start of each tensor tells models apart without hashing gigabytes."""

_model_digests: "weakref.WeakKeyDictionary[object, str]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class EmbeddingKey:
    """pixels: digest of the (H, W, 3) uint8 image and its shape. model: :func:`model_digest`.
    precision: "float32" or "bfloat16", how the encoder ran. input_hw: (h, w) the image was
    resized to inside the model."""

    pixels: str
    model: str
    precision: str
    input_hw: tuple[int, int]

    def digest(self) -> str:
        """A 32-hex-digit name for the whole key."""
        return hashlib.blake2b(json.dumps(self.as_dict(), sort_keys=True).encode(), digest_size=16).hexdigest()

    def as_dict(self) -> dict:
        """The key as JSON-ready values (``input_hw`` a list)."""
        fields = asdict(self)
        fields["input_hw"] = list(self.input_hw)
        return fields

    @classmethod
    def from_dict(cls, fields: dict) -> "EmbeddingKey":
        return cls(str(fields["pixels"]), str(fields["model"]), str(fields["precision"]), tuple(int(side) for side in fields["input_hw"]))


def pixels_digest(pixels: np.ndarray) -> str:
    """Digest of an array of pixels, e.g. an (H, W, 3) uint8 image, its shape and dtype included
    (equal bytes, other shape: other pixels)."""
    pixels = np.ascontiguousarray(pixels)
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(repr((pixels.shape, pixels.dtype.str)).encode())
    hasher.update(pixels.data)
    return hasher.hexdigest()


def model_digest(model) -> str:
    """Digest of a loaded model: its version, size, every weight's name, shape and dtype, and
    the first ``SAMPLED_BYTES_PER_TENSOR`` bytes of each weight. Computed once per model object
    (weights changed in place afterwards are not noticed)."""
    if model not in _model_digests:
        _model_digests[model] = _weights_digest(model)
    return _model_digests[model]


def _weights_digest(model) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(f"{model.version} {model.size}".encode())
    for name, tensor in model.network.state_dict().items():
        hasher.update(f"{name} {tuple(tensor.shape)} {tensor.dtype}".encode())
        sample = tensor.detach().reshape(-1)[: max(1, SAMPLED_BYTES_PER_TENSOR // tensor.element_size())]
        hasher.update(_as_bytes(sample))
    return hasher.hexdigest()


def _as_bytes(tensor: torch.Tensor) -> bytes:
    # numpy has no bfloat16: view such tensors as raw 16-bit integers.
    cpu = tensor.cpu().contiguous()
    if cpu.dtype == torch.bfloat16:
        cpu = cpu.view(torch.int16)
    return cpu.numpy().tobytes()
