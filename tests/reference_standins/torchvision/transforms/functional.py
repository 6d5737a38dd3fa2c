"""`torchvision.transforms.functional` as used by segment-anything's ResizeLongestSide."""

import numpy as np
import torch
from PIL import Image


def to_pil_image(picture: np.ndarray) -> Image.Image:
    """HWC (or HW) uint8 array -> PIL image, as torchvision does for uint8 input."""
    return Image.fromarray(np.ascontiguousarray(picture))


def resize(image: Image.Image, size, interpolation=None, max_size=None, antialias=True) -> Image.Image:
    """Resizes a PIL image to ``size`` = (height, width) with PIL's bilinear filter."""
    height, width = int(size[0]), int(size[1])
    return image.resize((width, height), Image.BILINEAR)


def to_tensor(picture) -> torch.Tensor:
    """HWC uint8 array or PIL image -> CHW float32 tensor in [0, 1]."""
    array = np.asarray(picture)
    if array.ndim == 2:
        array = array[:, :, None]
    tensor = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))
    if tensor.dtype == torch.uint8:
        return tensor.to(torch.float32).div(255)
    return tensor
