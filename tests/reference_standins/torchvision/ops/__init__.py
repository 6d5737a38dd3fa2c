"""`torchvision.ops` as used by the automatic mask generators."""

from . import boxes
from .boxes import batched_nms, box_area, nms

__all__ = ["batched_nms", "box_area", "boxes", "nms"]
