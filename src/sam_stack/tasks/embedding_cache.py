"""``EmbeddingCache``: image encodings kept in memory up to a byte budget, and optionally on disk.

    cache = EmbeddingCache(max_bytes=2**30, directory="~/stack.embeddings")
    encoding = cached_encode(model, image, cache)        # see ``embedding_cache_encode``
    tracker = StackTracker(model, frames, embedding_cache=cache)
    cache.stats                                           # hits in memory, on disk, misses

Entries are the encoder's tensors by name, under an :class:`~.embedding_cache_keys.EmbeddingKey`
(the pixels, the model, the precision and the input size): changing the weights, the contrast or
the input size makes other keys, so nothing needs invalidating. In memory the least recently
used entries go first once their tensors pass ``max_bytes``; on disk (``directory``, see
``embedding_cache_disk``) nothing is evicted. An entry found on disk but not trusted (another
format, another model, damaged) is counted as rejected and treated as a miss; the fresh encoding
then replaces it.

One cache may hold entries of several models and serve several threads (napari's workers).
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from .embedding_cache_disk import DiskEntries, RejectedEntry
from .embedding_cache_keys import EmbeddingKey

DEFAULT_MAX_BYTES = 1 << 30
"""1 GiB in memory: about 60 SAM v2 frames at 1024 pixels (16 MiB each), 250 SAM v1 images."""


@dataclass
class CacheStats:
    """Lookups so far: found in memory, found on disk, not found (``misses`` counts ``rejected``
    too: entries on disk that were not used)."""

    memory_hits: int = 0
    disk_hits: int = 0
    misses: int = 0
    rejected: int = 0

    @property
    def lookups(self) -> int:
        return self.memory_hits + self.disk_hits + self.misses

    @property
    def hit_rate(self) -> float:
        """Share of lookups served without encoding (0 before any lookup)."""
        return (self.memory_hits + self.disk_hits) / self.lookups if self.lookups else 0.0


class EmbeddingCache:
    """Encodings by key: an LRU in memory bounded by ``max_bytes`` (tensor bytes), and, when
    ``directory`` is given, a store on disk there (made if missing; SamStackError if it cannot be)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, directory=None) -> None:
        self.max_bytes = int(max_bytes)
        self.disk = None if directory is None else DiskEntries(directory)
        self.stats = CacheStats()
        self._entries: OrderedDict[EmbeddingKey, dict[str, torch.Tensor]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def memory_bytes(self) -> int:
        """Bytes of the tensors held in memory now."""
        return self._bytes

    def __len__(self) -> int:
        """Entries held in memory now."""
        return len(self._entries)

    def __contains__(self, key: EmbeddingKey) -> bool:
        """Whether ``key`` is in memory or on disk (not checked, not counted as a lookup)."""
        return key in self._entries or (self.disk is not None and self.disk.path(key).exists())

    def get(self, key: EmbeddingKey, names: tuple[str, ...], device="cpu") -> dict[str, torch.Tensor] | None:
        """The tensors stored under ``key``, or None. ``names`` are the tensors the caller needs:
        an entry on disk without exactly these is rejected. Entries read from disk come in float32
        on ``device`` and are kept in memory from then on."""
        with self._lock:
            tensors = self._entries.get(key)
            if tensors is not None:
                self._entries.move_to_end(key)
                self.stats.memory_hits += 1
                return tensors
        arrays = None
        if self.disk is not None:
            try:
                arrays = self.disk.read(key)
            except RejectedEntry:
                self._count_rejected()
                return None
        if arrays is not None and set(arrays) != set(names):
            self._count_rejected()
            return None
        if arrays is None:
            with self._lock:
                self.stats.misses += 1
            return None
        tensors = {name: torch.from_numpy(arrays[name]).to(device) for name in names}
        with self._lock:
            self.stats.disk_hits += 1
            self._keep(key, tensors)
        return tensors

    def put(self, key: EmbeddingKey, tensors: dict[str, torch.Tensor]) -> None:
        """Keeps ``tensors`` in memory (unless alone they pass ``max_bytes``) and on disk."""
        with self._lock:
            self._keep(key, tensors)
        if self.disk is not None:
            self.disk.write(key, {name: _to_numpy(tensor) for name, tensor in tensors.items()})

    def clear_memory(self) -> None:
        """Forgets the entries in memory (those on disk stay)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _keep(self, key: EmbeddingKey, tensors: dict[str, torch.Tensor]) -> None:
        size = _nbytes(tensors)
        if key in self._entries:
            self._bytes -= _nbytes(self._entries.pop(key))
        if size > self.max_bytes:
            return
        self._entries[key] = tensors
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= _nbytes(evicted)

    def _count_rejected(self) -> None:
        with self._lock:
            self.stats.rejected += 1
            self.stats.misses += 1


def _nbytes(tensors: dict[str, torch.Tensor]) -> int:
    return sum(tensor.numel() * tensor.element_size() for tensor in tensors.values())


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu", torch.float32).numpy()
