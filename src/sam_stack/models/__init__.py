"""The model core: pure torch, no GUI. SAM v1 (ViT) today; SAM v2 and v2.1 (Hiera) to follow."""

from .loading import load_model, resolve_device
from .segment_anything_model import ImageEncoding, Prediction, SegmentAnythingModel

__all__ = ["ImageEncoding", "Prediction", "SegmentAnythingModel", "load_model", "resolve_device"]
