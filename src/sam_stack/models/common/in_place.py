"""Activations, residual additions and softmax written into a block's own fresh output.

An encoder block allocates a new tensor for each step; at 1024 pixels the first stages' tensors
are tens of megabytes each, and a freshly allocated one is paid for again in page faults. Where
the operand is a temporary that no one else holds (a linear layer's output, an attention's merged
windows), overwriting it gives bit for bit the same values (x + y == y + x in floating point)
with one tensor less: about 8% of a Hiera encoding on the CPU. The official code allocates anew.

Autograd needs the inputs of these operations kept, so with gradients wanted they allocate as
usual.
"""

import torch
from torch import nn


def gradients_wanted(*tensors: torch.Tensor) -> bool:
    """Whether autograd will need the inputs of an operation on ``tensors`` kept."""
    return torch.is_grad_enabled() and any(tensor.requires_grad for tensor in tensors)


def activate(activation: nn.Module, fresh: torch.Tensor) -> torch.Tensor:
    """``activation(fresh)``, overwriting ``fresh`` (a temporary of the caller's) for GELU and ReLU."""
    if gradients_wanted(fresh):
        return activation(fresh)
    if type(activation) is nn.GELU:
        return torch.ops.aten.gelu_(fresh, approximate=activation.approximate)
    if type(activation) is nn.ReLU:
        return fresh.relu_()
    return activation(fresh)


def add(first: torch.Tensor, second: torch.Tensor, into: torch.Tensor) -> torch.Tensor:
    """``first + second``, written into ``into`` (one of the two, a temporary of the caller's)
    when the sum would be laid out exactly as ``into`` is: the same shape and dtype (under
    bfloat16 autocast a bfloat16 branch plus a float32 shortcut is float32), and both operands
    contiguous in one memory format. Otherwise a new tensor, as the official code makes: later
    kernels choose their algorithm, and so their rounding, by the layout of their input."""
    same_layout = any(
        first.is_contiguous(memory_format=layout) and second.is_contiguous(memory_format=layout)
        for layout in ((torch.contiguous_format, torch.channels_last) if into.ndim == 4 else (torch.contiguous_format,))
    )
    if (
        gradients_wanted(first, second)
        or not same_layout
        or into.shape != torch.broadcast_shapes(first.shape, second.shape)
        or into.dtype != torch.result_type(first, second)
    ):
        return first + second
    return into.add_(second if into is first else first)


def softmax(fresh: torch.Tensor, dim: int) -> torch.Tensor:
    """``fresh.softmax(dim)``, written into ``fresh`` (a temporary of the caller's, such as
    attention logits: 800 MB for a global block of ViT-B, whose fresh allocation costs 4x the
    softmax itself)."""
    if gradients_wanted(fresh):
        return fresh.softmax(dim)
    return torch.softmax(fresh, dim, out=fresh)
