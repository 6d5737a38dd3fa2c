"""The model core: pure torch, no GUI. SAM v1 (ViT), SAM v2 and v2.1 (Hiera)."""

from .bfloat16_support import bfloat16_is_fast
from .loading import load_model, resolve_device
from .segment_anything_model import ImageEncoding, Prediction, SegmentAnythingModel

__all__ = ["ImageEncoding", "Prediction", "SegmentAnythingModel", "bfloat16_is_fast", "load_model", "resolve_device"]
