"""A small cache of image encodings, so that each prompt change only runs the fast decoder.

Encodings are keyed by the pixels the model saw (a digest of the uint8 plane, and the region of it
that was encoded, if only a region was): moving back to a plane, or changing prompts, reuses the
encoding; changing the contrast or the data makes new
pixels and so a new encoding, without having to track why. The cache holds encodings of one
model; clear it when the model changes. It is bounded because an encoding of the large models is
several megabytes, and it is used from worker threads, hence the lock.
"""

import threading
from collections import OrderedDict

import numpy as np

from ..tasks.embedding_cache_keys import pixels_digest


def pixels_key(pixels: np.ndarray, region: tuple[int, int, int, int] | None = None) -> tuple:
    """The key of the encoding of ``pixels``, or of their ``region`` (x0, y0, x1, y1)."""
    digest = pixels_digest(pixels)
    return (digest,) if region is None else (digest, tuple(region))


class EncodingCache:
    """Least-recently-used mapping from ``pixels_key`` to the model's ``ImageEncoding``."""

    def __init__(self, capacity: int = 4) -> None:
        self.capacity = capacity
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key not in self._entries:
                return None
            self._entries.move_to_end(key)
            return self._entries[key]

    def put(self, key, encoding) -> None:
        with self._lock:
            self._entries[key] = encoding
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
