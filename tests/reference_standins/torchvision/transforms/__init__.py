"""`torchvision.transforms` as used by sam2's image transforms (scriptable modules)."""

import torch
from torch import nn
from torch.nn import functional as F

from . import functional


class ToTensor:
    """HWC uint8 array or PIL image -> CHW float tensor in [0, 1]."""

    def __call__(self, picture) -> torch.Tensor:
        return functional.to_tensor(picture)


class Normalize(nn.Module):
    """Subtracts a per-channel mean and divides by a per-channel std (CHW or BCHW)."""

    def __init__(self, mean: list[float], std: list[float]) -> None:
        super().__init__()
        self.mean = mean
        self.std = std

    def forward(self, tensor: torch.Tensor) -> torch.Tensor:
        mean = torch.as_tensor(self.mean, dtype=tensor.dtype, device=tensor.device)
        std = torch.as_tensor(self.std, dtype=tensor.dtype, device=tensor.device)
        return (tensor - mean.view(-1, 1, 1)) / std.view(-1, 1, 1)


class Resize(nn.Module):
    """Bilinear resize of a float CHW or BCHW tensor with antialiasing (torchvision's default)."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size = [int(size[0]), int(size[1])]

    def forward(self, tensor: torch.Tensor) -> torch.Tensor:
        unbatched = tensor.dim() == 3
        batch = tensor.unsqueeze(0) if unbatched else tensor
        resized = F.interpolate(batch, size=self.size, mode="bilinear", align_corners=False, antialias=True)
        return resized.squeeze(0) if unbatched else resized


__all__ = ["Normalize", "Resize", "ToTensor", "functional"]
