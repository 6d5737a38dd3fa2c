"""Image files in and label files out, for the command line and scripts (the core takes arrays).

Reading: TIFF with tifffile (any dtype, any number of pages), PNG / JPEG / BMP / WebP with OpenCV
(8 or 16 bits), returned as numpy arrays with colour channels last in RGB(A) order. A stack is a
multi-page TIFF, a folder of frame files, a .npy file or a .zarr array, read one frame at a time.
Writing: masks as 0 / 255 8-bit images, label images as uint32 TIFF or, when every label fits
in 16 bits, 16-bit PNG. A file is written under a temporary name and renamed when complete, so a
run that is interrupted leaves no half-written result behind.
Files that cannot be read or written raise :class:`~sam_stack.errors.ImageError`.
"""

import os
import re
from pathlib import Path

import cv2
import numpy as np
import tifffile
import zarr

from .errors import ImageError

TIFF_SUFFIXES = (".tif", ".tiff")
OPENCV_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
IMAGE_SUFFIXES = TIFF_SUFFIXES + OPENCV_SUFFIXES
PNG_MAX_LABEL = np.iinfo(np.uint16).max


def read_image(path) -> np.ndarray:
    """The pixels of an image file: (H, W), (H, W, 3) RGB or (H, W, 4) RGBA; a multi-page TIFF
    comes back whole, pages first."""
    path = _existing(path)
    suffix = path.suffix.lower()
    if suffix in TIFF_SUFFIXES:
        try:
            return tifffile.imread(path)
        except (tifffile.TiffFileError, ValueError) as error:
            raise ImageError(f"{path} could not be read as a TIFF file ({error})") from None
    if suffix in OPENCV_SUFFIXES:
        return _read_with_opencv(path)
    raise ImageError(f"{path} has the suffix {suffix!r}; expected one of {', '.join(IMAGE_SUFFIXES)}")


def read_stack(path):
    """A stack of frames (T, H, W[, C]) from a multi-page TIFF file, a folder of frame files, a
    .npy file or a .zarr array; a single 2-D image is a stack of one frame.

    Frames are read when indexed, as far as the format allows: a folder reads one file per
    frame, a .npy file and an uncompressed TIFF are memory-mapped, a zarr array reads its chunks,
    a compressed TIFF with one page per frame is decoded page by page; other TIFFs (several pages
    per frame, as in ImageJ hyperstacks) are read whole.
    """
    stack = _open_stack(_existing(path))
    return np.asarray(stack)[None] if len(stack.shape) == 2 else stack


def _open_stack(path: Path):
    suffix = path.suffix.lower()
    if suffix == ".zarr":
        try:
            return zarr.open_array(str(path), mode="r")
        except Exception as error:  # noqa: BLE001 - zarr raises several types for "not an array"
            raise ImageError(f"{path} could not be opened as a zarr array ({error})") from None
    if path.is_dir():
        return FrameFolder(path)
    if suffix == ".npy":
        try:
            return np.load(path, mmap_mode="r")
        except ValueError as error:
            raise ImageError(f"{path} could not be read as a .npy array ({error})") from None
    if suffix not in TIFF_SUFFIXES:
        raise ImageError(f"{path} is not a stack; expected a TIFF file, a folder of frames, a .npy file or a .zarr array")
    try:
        return tifffile.memmap(path, mode="r")
    except ValueError:  # compressed or tiled data cannot be memory-mapped
        pass
    try:
        return TiffPages(path)
    except ValueError:
        return read_image(path)


class TiffPages:
    """The pages of a TIFF file as a read-only stack, one page per frame; ``pages[t]`` decodes
    page t. Raises ValueError when the file's first series does not hold one frame per page.
    The file stays open while the stack is in use."""

    def __init__(self, path) -> None:
        self.path = Path(path)
        try:
            self._tiff = tifffile.TiffFile(self.path)
        except tifffile.TiffFileError as error:
            raise ImageError(f"{self.path} could not be read as a TIFF file ({error})") from None
        series = self._tiff.series[0]
        self._pages = list(series.pages)
        one_per_page = len(series.shape) >= 3 and len(self._pages) == series.shape[0] and None not in self._pages
        if not one_per_page or series.keyframe.shape != series.shape[1:]:
            self._tiff.close()
            raise ValueError(f"{self.path} does not hold one frame per page")
        self.shape, self.dtype = tuple(series.shape), series.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: int) -> np.ndarray:
        return self._pages[index].asarray()


class FrameFolder:
    """The image files of a folder as a read-only stack, in natural order ("frame2" before
    "frame10"); ``folder[t]`` reads frame t. Every frame must have the first one's shape."""

    def __init__(self, folder) -> None:
        self.folder = Path(folder)
        self.files = sorted(
            (file for file in self.folder.iterdir() if file.suffix.lower() in IMAGE_SUFFIXES and file.is_file()),
            key=_natural_key,
        )
        if not self.files:
            raise ImageError(f"{self.folder} holds no image files; expected frames ending in {', '.join(IMAGE_SUFFIXES)}")
        first = read_image(self.files[0])
        self.frame_shape, self.dtype = first.shape, first.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.files), *self.frame_shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> np.ndarray:
        frame = read_image(self.files[index])
        if frame.shape != self.frame_shape:
            raise ImageError(
                f"{self.files[index]} has shape {frame.shape}; expected {self.frame_shape} like {self.files[0].name}"
            )
        return frame


def write_mask(path, mask) -> None:
    """Writes a (H, W) boolean mask as an 8-bit PNG or TIFF: 255 inside, 0 outside."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ImageError(f"found a mask of shape {mask.shape}; expected (H, W)")
    _write(Path(path), (mask != 0).astype(np.uint8) * 255)


def write_labels(path, labels) -> None:
    """Writes an integer label image (0 = background) as a uint32 TIFF, or as a 16-bit PNG when
    every label is at most 65535 (PNG holds no more bits)."""
    path, labels = Path(path), np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer) and labels.dtype != np.bool_:
        raise ImageError(f"found labels of dtype {labels.dtype}; expected integers")
    if labels.size and labels.min() < 0:
        raise ImageError(f"found negative labels (down to {labels.min()}); expected 0 for background and positive ids")
    if path.suffix.lower() == ".png":
        if labels.size and labels.max() > PNG_MAX_LABEL:
            raise ImageError(
                f"found label {labels.max()}, more than the {PNG_MAX_LABEL} a PNG can hold; write a .tif file instead"
            )
        _write(path, labels.astype(np.uint16))
    else:
        _write(path, labels.astype(np.uint32))


def _write(path: Path, array: np.ndarray) -> None:
    suffix = path.suffix.lower()
    if suffix not in TIFF_SUFFIXES + (".png",):
        raise ImageError(f"cannot write {path}: expected a .png, .tif or .tiff file (lossless formats)")
    temporary = path.with_name(f".{path.name}.partial")
    try:
        if suffix == ".png":
            ok, encoded = cv2.imencode(".png", array)
            if not ok:
                raise ImageError(f"OpenCV could not encode a {array.dtype} array of shape {array.shape} as PNG")
            encoded.tofile(temporary)
        else:
            # Planes are labels or frames, never colour channels, even when there are three.
            tifffile.imwrite(temporary, array, photometric="minisblack", compression="zlib")
        os.replace(temporary, path)
    except OSError as error:
        raise ImageError(f"could not write {path} ({error})") from None
    finally:
        temporary.unlink(missing_ok=True)


def _existing(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise ImageError(f"no file or folder at {path}")
    return path


def _read_with_opencv(path: Path) -> np.ndarray:
    # Read from bytes: cv2.imread cannot open non-ASCII paths on Windows.
    data = np.fromfile(path, dtype=np.uint8)
    # JPEG photos are decoded as colour so that OpenCV applies their EXIF orientation, as viewers
    # do; other formats keep their depth (16-bit PNG) and channels (alpha).
    flag = cv2.IMREAD_COLOR if path.suffix.lower() in (".jpg", ".jpeg") else cv2.IMREAD_UNCHANGED
    image = cv2.imdecode(data, flag)
    if image is None:
        raise ImageError(f"{path} could not be decoded as an image; the file may be corrupt or truncated")
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return image


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]
