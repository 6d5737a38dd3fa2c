"""Image encodings on disk, one zarr group per encoding, so that reopening a stack does not
re-encode it.

Layout: ``DIRECTORY/<model digest>/<key digest>.zarr``, each group holding the encoding's
float arrays (one chunk each, uncompressed: random-looking floats do not compress) and, in its
attributes, a manifest: the format version, the whole :class:`EmbeddingKey`, and each array's
shape, dtype and checksum. An entry is used only if every part of the manifest agrees with what
was asked for and what was read; anything else (another format, another model, a truncated or
altered chunk, an unreadable group) counts as rejected and the encoding is made again.

An entry is written into a hidden temporary folder and renamed into place, so a run cancelled
midway leaves no half-written entry behind.
"""

import hashlib
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import zarr

from ..errors import SamStackError
from .embedding_cache_keys import EmbeddingKey

FORMAT_VERSION = 1
MANIFEST = "sam_stack_embedding"


class DiskEntries:
    """The on-disk half of :class:`~.embedding_cache.EmbeddingCache`: ``read`` and ``write``
    named float32 arrays under an :class:`EmbeddingKey`. Safe to use from several threads or
    processes at once (the last writer of a key wins; both wrote the same encoding)."""

    def __init__(self, directory) -> None:
        self.directory = Path(directory).expanduser()
        if self.directory.exists() and not self.directory.is_dir():
            raise SamStackError(f"found a file at {self.directory}; expected a folder (or nothing) for the embedding cache")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SamStackError(f"cannot make the embedding cache folder {self.directory}: {error.strerror}") from None

    def path(self, key: EmbeddingKey) -> Path:
        return self.directory / key.model[:16] / f"{key.digest()}.zarr"

    def read(self, key: EmbeddingKey) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``; None if there is no entry; raises
        :class:`RejectedEntry` if there is one that cannot be trusted."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            group = zarr.open_group(str(path), mode="r")
            manifest = dict(group.attrs).get(MANIFEST)
            arrays = {name: np.asarray(group[name][...]) for name in (manifest or {}).get("arrays", {})}
        except Exception as error:  # noqa: BLE001 - any failure to read means the entry is unusable
            raise RejectedEntry(f"{path}: unreadable ({type(error).__name__}: {error})") from None
        _check(manifest, key, arrays, path)
        return arrays

    def write(self, key: EmbeddingKey, arrays: dict[str, np.ndarray]) -> None:
        """Stores ``arrays`` under ``key``, replacing any entry there."""
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = final.parent / f".{final.name}.{uuid.uuid4().hex}.tmp"
        try:
            group = zarr.open_group(str(staging), mode="w")
            for name, array in arrays.items():
                group.create_array(name, data=np.ascontiguousarray(array), chunks=array.shape, compressors=None)
            group.attrs[MANIFEST] = {
                "format": FORMAT_VERSION,
                "key": key.as_dict(),
                "arrays": {name: _description(array) for name, array in arrays.items()},
            }
            if final.exists():
                shutil.rmtree(final, ignore_errors=True)
            _move_into_place(staging, final)
        except OSError as error:
            raise SamStackError(f"cannot write an embedding cache entry under {self.directory}: {error.strerror or error}") from None
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)


def _move_into_place(staging: Path, final: Path) -> None:
    try:
        os.replace(staging, final)
    except OSError:
        # Another writer put the same entry there meanwhile: theirs is as good as ours.
        if not final.exists():
            raise


class RejectedEntry(Exception):
    """An entry on disk that exists but must not be used (its message says why)."""


def _description(array: np.ndarray) -> dict:
    return {"shape": list(array.shape), "dtype": array.dtype.str, "blake2b": _checksum(array)}


def _checksum(array: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(array).data, digest_size=16).hexdigest()


def _check(manifest, key: EmbeddingKey, arrays: dict[str, np.ndarray], path: Path) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        found = manifest.get("format") if isinstance(manifest, dict) else "no manifest"
        raise RejectedEntry(f"{path}: format {found!r}, expected {FORMAT_VERSION}")
    try:
        stored_key = EmbeddingKey.from_dict(manifest["key"])
    except (KeyError, TypeError, ValueError):
        raise RejectedEntry(f"{path}: the manifest has no readable key") from None
    if stored_key != key:
        raise RejectedEntry(f"{path}: made for {stored_key}, expected {key}")
    for name, array in arrays.items():
        if _description(array) != manifest["arrays"][name]:
            raise RejectedEntry(f"{path}: array {name!r} does not match its manifest (altered or truncated)")
    if not arrays:
        raise RejectedEntry(f"{path}: holds no arrays")
