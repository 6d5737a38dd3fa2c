"""napari-sam-stack: Segment Anything (v1, v2, v2.1) for images and stacks, in napari and headless."""

from . import errors
from .models import ImageEncoding, Prediction, SegmentAnythingModel, load_model
from .models.catalog import list_models
from .tasks.automask import generate_labels_stack, generate_labels_tiled, generate_masks, iter_masks, masks_to_labels
from .tasks.embedding_cache import EmbeddingCache
from .tasks.stack_tracking import StackTracker

__version__ = "0.1.0"
__all__ = [
    "EmbeddingCache",
    "ImageEncoding",
    "Prediction",
    "SegmentAnythingModel",
    "StackTracker",
    "errors",
    "generate_labels_stack",
    "generate_labels_tiled",
    "generate_masks",
    "iter_masks",
    "list_models",
    "load_model",
    "masks_to_labels",
]
