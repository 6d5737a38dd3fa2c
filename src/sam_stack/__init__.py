"""napari-sam-stack: Segment Anything (v1, v2, v2.1) for images and stacks, in napari and headless."""

from . import errors
from .models import ImageEncoding, Prediction, SegmentAnythingModel, load_model

__version__ = "0.1.0"
__all__ = ["ImageEncoding", "Prediction", "SegmentAnythingModel", "errors", "load_model"]
