"""Reading a stack one frame at a time, whatever holds it.

A stack is anything indexed along its first axis that gives 2-D (or RGB) frames: a numpy array
or memmap, a dask or zarr array, a list of arrays. Only ``shape`` (``len`` where there is none)
and ``stack[i]`` are used, so a stack on disk or computed lazily is never loaded whole.
"""

import numpy as np

from ...errors import ImageError

EXPECTED = "a stack of shape (T, H, W) or (T, H, W, 3)"


class FrameReader:
    """The frames of a stack, read on demand and checked to share one (H, W) size.

    Attributes:
        num_frames: T.
        frame_hw: (H, W) of every frame.
    """

    def __init__(self, stack) -> None:
        self._stack = stack
        # zarr 3 arrays have a shape but no len().
        shape = getattr(stack, "shape", None)
        self.num_frames = int(shape[0]) if shape is not None else len(stack)
        if self.num_frames == 0:
            raise ImageError(f"found an empty stack; expected {EXPECTED} with T >= 1")
        frame_shape = tuple(shape[1:]) if shape is not None else np.shape(stack[0])
        if len(frame_shape) not in (2, 3) or (len(frame_shape) == 3 and frame_shape[2] != 3):
            raise ImageError(f"found frames of shape {frame_shape}; expected {EXPECTED}")
        self._frame_shape = frame_shape
        self.frame_hw = (int(frame_shape[0]), int(frame_shape[1]))

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` as a numpy array (H, W) or (H, W, 3)."""
        frame = np.asarray(self._stack[index])
        if frame.shape != self._frame_shape:
            raise ImageError(f"frame {index} has shape {frame.shape}; expected {self._frame_shape} like the first frame")
        return frame
