"""Errors a user can cause, each with a message that says what was found and what was expected.

Every exception raised for bad input derives from :class:`SamStackError`, so callers (the CLI, the
napari widgets) can catch one type and show its message.
"""


class SamStackError(ValueError):
    """Base class of every error caused by bad input to sam_stack."""


class CheckpointError(SamStackError):
    """A model file that cannot be read, is not a checkpoint, or holds a model we do not know."""


class ImageError(SamStackError):
    """An image of the wrong rank, channel count or content (empty, NaN)."""


class PromptError(SamStackError):
    """Prompts that cannot be turned into a prediction (none at all, empty box, wrong shapes)."""


class UnsupportedModelError(SamStackError):
    """A valid model asked to do something its version cannot do (e.g. a v1 model asked to propagate)."""


class DownloadError(SamStackError):
    """A model file that could not be fetched (offline, server error) or whose checksum is wrong."""
