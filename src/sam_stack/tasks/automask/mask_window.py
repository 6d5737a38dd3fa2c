"""Upscaling one mask's low-resolution logits only where the mask can be.

The generator needs each candidate's logits at the crop's full size: the stability score, the
mask, its box. A model upscales with bilinear resizes (``model.upscale_steps``). A bilinear output
pixel is a convex combination of at most 2 x 2 input pixels, so where every input pixel is below
a value, so is the output. Hence the logits can exceed a floor only inside a window reached from
the low-res pixels above (floor - margin), and outside it they count for nothing: not in the
stability score's pixel counts, not in the mask, not in its box. We upscale that window alone.
For objects much smaller than the image this is most of the work saved.

Each resize axis is described as torch computes it (``align_corners=False``): output pixel ``i``
reads input pixels ``first[i]`` and ``second[i]`` (= first + 1, or first at the far edge) with
weights ``1 - t[i]`` and ``t[i]``, where ``t`` is the fractional part of the source position
``max(scale * (i + 0.5) - 0.5, 0)``, ``scale = in / out``, in float32. These weights are the
kernel's to the bit; the values combine them in plain float32, and where the kernel fuses a
multiply-add (as on x86 with AVX2) a value can differ in its last bit, which moves a mask only for
a logit within a few 1e-7 of a threshold.

The arithmetic is numpy's: for one mask at a time it is several times faster than torch's
indexing (and single-threaded, which suits a loop over thousands of small windows).
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Low-res pixels within this margin below the floor still open the window: the float rounding of
# a convex combination can lift it by a few ulps, far less than this for logits of any sane size.
FLOOR_MARGIN = 1e-3


@dataclass(frozen=True)
class AxisResize:
    """One axis of a bilinear resize: out[i] = in[first[i]] * w_first[i] + in[second[i]] * w_second[i]."""

    first: np.ndarray  # (out,) int64, sorted
    second: np.ndarray  # (out,) int64, sorted
    w_first: np.ndarray  # (out,) float32
    w_second: np.ndarray  # (out,) float32

    def reached_by(self, start: int, stop: int, kept: int) -> tuple[int, int]:
        """The output span [a, b), within the first ``kept`` outputs, whose pixels read any input
        pixel in [start, stop); empty (a >= b) when none does."""
        a = int(np.searchsorted(self.second, start, side="left"))
        b = int(np.searchsorted(self.first, stop, side="left"))
        return a, min(b, kept)

    def reads(self, start: int, stop: int) -> tuple[int, int]:
        """The input span [a, b) that outputs [start, stop) read."""
        return int(self.first[start]), int(self.second[stop - 1]) + 1


@lru_cache(maxsize=64)
def axis_resize(in_size: int, out_size: int) -> AxisResize:
    """The bilinear (``align_corners=False``) resize of an axis of ``in_size`` to ``out_size``."""
    scale = np.float32(in_size) / np.float32(out_size)
    # torch's kernel computes scale * (i + 0.5) - 0.5 with one fused multiply-add, rounding once.
    # The product of two float32 values is exact in float64, so one cast rounds the same way.
    position = (np.float64(scale) * (np.arange(out_size) + 0.5) - 0.5).astype(np.float32)
    position = np.maximum(position, np.float32(0))
    first = position.astype(np.int64)  # truncation is floor here: positions are >= 0
    second = np.minimum(first + 1, in_size - 1)
    w_second = position - first.astype(np.float32)
    w_first = np.float32(1) - w_second
    return AxisResize(first, second, w_first, w_second)


@dataclass(frozen=True)
class UpscalePlan:
    """A model's upscale of one encoding as per-step axis resizes: step k resizes the previous
    result (rows, cols) and keeps its top-left ``kept[k]`` (h, w)."""

    rows: tuple[AxisResize, ...]
    cols: tuple[AxisResize, ...]
    kept: tuple[tuple[int, int], ...]

    @classmethod
    def from_steps(cls, lowres_hw: tuple[int, int], steps: list[tuple[tuple[int, int], tuple[int, int]]]) -> "UpscalePlan":
        """lowres_hw: (h, w) of the decoder's logits; steps: ``model.upscale_steps(encoding)``."""
        rows, cols, kept = [], [], []
        in_h, in_w = lowres_hw
        for (size_h, size_w), (kept_h, kept_w) in steps:
            rows.append(axis_resize(in_h, size_h))
            cols.append(axis_resize(in_w, size_w))
            kept.append((kept_h, kept_w))
            in_h, in_w = kept_h, kept_w
        return cls(tuple(rows), tuple(cols), tuple(kept))

    @property
    def lowres_read_hw(self) -> tuple[int, int]:
        """(h, w): the low-res rows and columns that any kept output reads (v1 cuts padding off)."""
        read_h, read_w = self.kept[-1]
        for rows, cols in zip(reversed(self.rows), reversed(self.cols)):
            read_h, read_w = rows.reads(0, read_h)[1], cols.reads(0, read_w)[1]
        return read_h, read_w


@dataclass(frozen=True)
class MaskWindow:
    """Full-size logits of one mask inside a window; below the floor everywhere outside it.

    logits_hw: (h, w) float32. top, left: the window's offset in the full-size frame.
    """

    logits_hw: np.ndarray
    top: int
    left: int


def upscale_window(
    lowres_hw: np.ndarray, plan: UpscalePlan, floor: float, origin: tuple[int, int] = (0, 0)
) -> MaskWindow | None:
    """Upscales one mask's (h, w) float32 low-res logits within a window outside which they are
    below ``floor``; None when no low-res pixel comes near the floor (the mask is then empty at
    every threshold >= floor). The window is not always the smallest such.

    origin: (row, col) of ``lowres_hw`` in the decoder's output, when it is only the part of it
    that :func:`lowres_window` kept for this floor or a lower one.
    """
    spans = _spans(lowres_hw, origin, plan, floor)
    if spans is None:
        return None
    row_spans, col_spans = spans
    values_hw = lowres_hw
    top, left = origin
    for step in range(len(plan.kept)):
        out_rows, out_cols = row_spans[step + 1], col_spans[step + 1]
        values_hw = _resize_part(values_hw, (top, left), plan.rows[step], plan.cols[step], out_rows, out_cols)
        top, left = out_rows[0], out_cols[0]
    return MaskWindow(values_hw, top, left)


def lowres_window(lowres_hw: np.ndarray, plan: UpscalePlan, floor: float) -> tuple[np.ndarray, tuple[int, int]] | None:
    """The part of one mask's (h, w) low-res logits that :func:`upscale_window` reads for
    ``floor`` or any higher floor: (a copy of it, its origin (row, col)), or None when the window
    is empty. Keeping this instead of the whole map saves memory for small masks."""
    spans = _spans(lowres_hw, (0, 0), plan, floor)
    if spans is None:
        return None
    (r0, r1), (c0, c1) = spans[0][0], spans[1][0]
    return lowres_hw[r0:r1, c0:c1].copy(), (r0, c0)


def _spans(lowres_hw: np.ndarray, origin: tuple[int, int], plan: UpscalePlan, floor: float):
    """(row spans, col spans), one per stage: stage 0 the low-res pixels to read, stage k the
    outputs of step k to compute, the last one being the window. None when it is empty."""
    read_h, read_w = plan.lowres_read_hw
    hot_hw = lowres_hw[: read_h - origin[0], : read_w - origin[1]] > floor - FLOOR_MARGIN
    hot_rows = np.flatnonzero(hot_hw.any(axis=1))
    if hot_rows.size == 0:
        return None
    hot_cols = np.flatnonzero(hot_hw.any(axis=0))
    row_spans = _axis_spans(plan.rows, [k[0] for k in plan.kept], origin[0] + hot_rows[0], origin[0] + hot_rows[-1] + 1)
    col_spans = _axis_spans(plan.cols, [k[1] for k in plan.kept], origin[1] + hot_cols[0], origin[1] + hot_cols[-1] + 1)
    if row_spans is None or col_spans is None:
        return None
    return row_spans, col_spans


def _axis_spans(axes: tuple[AxisResize, ...], kept: list[int], start: int, stop: int) -> list[tuple[int, int]] | None:
    """Forward, the outputs that each step's hot span reaches, ending at the window; backward,
    the inputs each step reads to compute the next span. Returns the spans to compute per stage
    (stage 0: low-res inputs), or None when the window is empty."""
    hot = (int(start), int(stop))
    for axis, kept_size in zip(axes, kept):
        hot = axis.reached_by(*hot, kept_size)
        if hot[0] >= hot[1]:
            return None
    needed = [hot]
    for axis in reversed(axes):
        needed.insert(0, axis.reads(*needed[0]))
    return needed


def _resize_part(
    values_hw: np.ndarray,
    values_origin: tuple[int, int],
    rows: AxisResize,
    cols: AxisResize,
    out_rows: tuple[int, int],
    out_cols: tuple[int, int],
) -> np.ndarray:
    """Outputs [out_rows) x [out_cols) of a bilinear resize, from the part ``values_hw`` of its
    input that starts at ``values_origin`` (row, col). Along x first, then between rows, the
    order in which torch's kernel combines the four inputs."""
    (r0, r1), (c0, c1) = out_rows, out_cols
    top, left = values_origin
    row_lo, row_hi = rows.reads(r0, r1)
    col_lo, col_hi = cols.reads(c0, c1)
    read_hw = values_hw[row_lo - top : row_hi - top, col_lo - left : col_hi - left]
    along_x = (
        np.take(read_hw, cols.first[c0:c1] - col_lo, axis=1) * cols.w_first[c0:c1]
        + np.take(read_hw, cols.second[c0:c1] - col_lo, axis=1) * cols.w_second[c0:c1]
    )
    return (
        along_x[rows.first[r0:r1] - row_lo] * rows.w_first[r0:r1, None]
        + along_x[rows.second[r0:r1] - row_lo] * rows.w_second[r0:r1, None]
    )
