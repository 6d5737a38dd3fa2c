"""Reading images and stacks, writing masks and labels (``sam_stack.io``)."""

import cv2
import numpy as np
import pytest
import tifffile
import zarr

from sam_stack.errors import ImageError
from sam_stack.io import FrameFolder, read_image, read_stack, write_labels, write_mask

RNG = np.random.default_rng(0)


def test_png_colour_comes_back_as_rgb(tmp_path):
    rgb = RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), rgb[..., ::-1])  # OpenCV writes BGR
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), rgb)


def test_png_keeps_16_bits_and_alpha(tmp_path):
    gray16 = RNG.integers(0, 65536, (20, 30), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "g.png"), gray16)
    assert read_image(tmp_path / "g.png").dtype == np.uint16
    rgba = RNG.integers(0, 256, (5, 6, 4), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba[..., [2, 1, 0, 3]])
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png"), rgba)


def test_tiff_keeps_dtype_and_pages(tmp_path):
    stack = RNG.random((3, 10, 12)).astype(np.float32)
    tifffile.imwrite(tmp_path / "s.tif", stack, photometric="minisblack")
    np.testing.assert_array_equal(read_image(tmp_path / "s.tif"), stack)


def test_unreadable_files_raise_image_error(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ImageError, match="could not be decoded"):
        read_image(tmp_path / "broken.png")
    with pytest.raises(ImageError, match="no file or folder"):
        read_image(tmp_path / "missing.tif")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ImageError, match="suffix '.txt'"):
        read_image(tmp_path / "notes.txt")


def test_a_tiff_stack_is_memory_mapped(tmp_path):
    stack = RNG.integers(0, 4096, (4, 16, 16), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "s.tif", stack, photometric="minisblack")
    lazy = read_stack(tmp_path / "s.tif")
    assert isinstance(lazy, np.memmap)
    np.testing.assert_array_equal(lazy[2], stack[2])


def test_a_folder_of_frames_is_read_frame_by_frame_in_natural_order(tmp_path):
    frames = RNG.integers(0, 256, (11, 8, 9), dtype=np.uint8)
    for t, frame in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"frame{t}.png"), frame)
    (tmp_path / "readme.txt").write_text("not a frame")
    stack = read_stack(tmp_path)
    assert isinstance(stack, FrameFolder)
    assert stack.shape == (11, 8, 9) and len(stack) == 11 and stack.ndim == 3
    np.testing.assert_array_equal(stack[10], frames[10])  # frame10 comes after frame9, not frame1
    cv2.imwrite(str(tmp_path / "frame99.png"), np.zeros((4, 4), np.uint8))
    with pytest.raises(ImageError, match=r"frame99.png has shape \(4, 4\); expected \(8, 9\)"):
        read_stack(tmp_path)[11]


def test_npy_and_zarr_stacks_are_read_lazily_and_a_single_image_is_one_frame(tmp_path):
    stack = RNG.integers(0, 256, (3, 8, 9), dtype=np.uint8)
    np.save(tmp_path / "s.npy", stack)
    array = zarr.open_array(str(tmp_path / "s.zarr"), mode="w", shape=stack.shape, chunks=(1, 8, 9), dtype=stack.dtype)
    array[:] = stack
    assert isinstance(read_stack(tmp_path / "s.npy"), np.memmap)
    assert isinstance(read_stack(tmp_path / "s.zarr"), zarr.Array)
    for name in ("s.npy", "s.zarr"):
        np.testing.assert_array_equal(read_stack(tmp_path / name)[1], stack[1])
    tifffile.imwrite(tmp_path / "one.tif", stack[0])
    assert read_stack(tmp_path / "one.tif").shape == (1, 8, 9)
    (tmp_path / "broken.npy").write_bytes(b"not numpy")
    with pytest.raises(ImageError, match="broken.npy could not be read"):
        read_stack(tmp_path / "broken.npy")
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(ImageError, match="empty.zarr could not be opened as a zarr array"):
        read_stack(tmp_path / "empty.zarr")


def test_masks_are_written_as_0_and_255(tmp_path):
    mask = RNG.random((7, 9)) > 0.5
    for name in ("m.png", "m.tif"):
        write_mask(tmp_path / name, mask)
        written = read_image(tmp_path / name)
        assert written.dtype == np.uint8
        np.testing.assert_array_equal(written, mask * 255)


def test_labels_are_uint32_tiff_or_16_bit_png(tmp_path):
    labels = np.array([[0, 1], [70_000, 2]], dtype=np.int64)
    write_labels(tmp_path / "l.tif", labels)
    assert read_image(tmp_path / "l.tif").dtype == np.uint32
    np.testing.assert_array_equal(read_image(tmp_path / "l.tif"), labels)
    with pytest.raises(ImageError, match="more than the 65535 a PNG can hold"):
        write_labels(tmp_path / "l.png", labels)
    write_labels(tmp_path / "l.png", labels % 1000)
    np.testing.assert_array_equal(read_image(tmp_path / "l.png"), labels % 1000)
    stack = np.stack([labels] * 3)  # three frames, not three colour channels
    write_labels(tmp_path / "stack.tif", stack)
    np.testing.assert_array_equal(read_image(tmp_path / "stack.tif"), stack)
    assert not list(tmp_path.glob(".*partial"))


def test_lossy_or_unknown_output_formats_are_refused(tmp_path):
    with pytest.raises(ImageError, match="expected a .png, .tif or .tiff"):
        write_mask(tmp_path / "m.jpg", np.ones((2, 2), bool))
    assert not any(tmp_path.iterdir())
