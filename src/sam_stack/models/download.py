"""Fetching one file by URL (https, http or file): resumable, checksum-verified, never half there.

The bytes go to ``<destination>.part``. When a transfer breaks off, the next attempt asks the
server for the rest only (an HTTP ``Range`` request) and appends it; servers that ignore the
request, and ``file://`` URLs, send the whole file again, which then replaces the part. Only once
the part has the expected size and SHA-256 is it renamed to ``destination`` (an atomic rename),
so a partial or corrupt file is never found there. A part whose checksum is wrong is deleted:
downloading again is the only cure. Only ``urllib`` is used, so no HTTP library is needed.
"""

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
from functools import partial
from pathlib import Path

from tqdm import tqdm

from ..errors import DownloadError

# Waits before the second and third attempt. An attempt is repeated only if the server answered
# and the body then broke off (a flaky connection); one that cannot connect or gets an HTTP error
# (offline, refused, not found) is reported at once, as repeating it would only make users wait.
RETRY_DELAYS_S = (1.0, 5.0)
TIMEOUT_S = 30.0
CHUNK_BYTES = 1 << 20


class _BrokenOff(Exception):
    """A response that stopped before the end of the file; worth resuming."""


def download(url: str, destination, *, sha256: str | None = None, num_bytes: int | None = None, progress=tqdm) -> Path:
    """Fetches ``url`` to ``destination`` and returns its path.

    sha256: the expected hex digest; the file is checked against it before it is put in place.
    num_bytes: the expected size, checked likewise (and shown by the progress bar).
    progress: a tqdm-compatible class (e.g. napari's ``progress``), or None for no bar.
    Raises :class:`~sam_stack.errors.DownloadError` saying what went wrong; after a transfer
    that broke off, the bytes received are kept and the next call resumes from them.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = partial_path(destination)
    make_bar = progress or partial(tqdm, disable=True)
    for delay in (0.0, *RETRY_DELAYS_S):
        time.sleep(delay)
        try:
            _transfer(url, part, num_bytes, make_bar)
            break
        except _BrokenOff as error:
            last_error = error
        except OSError as error:  # writing the part failed: a full disk, no permission
            raise DownloadError(f"could not write {part} ({error}); the bytes received so far are kept") from None
    else:
        raise DownloadError(
            f"the download of {url} broke off {1 + len(RETRY_DELAYS_S)} times (last: {last_error}); the "
            f"{part.stat().st_size} bytes received are kept in {part} and the next attempt resumes from there"
        )
    _verify(part, url, sha256, num_bytes)
    os.replace(part, destination)
    return destination


def partial_path(destination: Path) -> Path:
    """Where the bytes of ``destination`` collect while it is being downloaded."""
    return destination.with_name(destination.name + ".part")


def file_sha256(path) -> str:
    """Hex SHA-256 digest of a file, read in chunks (model files are gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _transfer(url: str, part: Path, num_bytes: int | None, make_bar) -> None:
    offset = part.stat().st_size if part.exists() else 0
    if num_bytes is not None and offset >= num_bytes:
        return  # all there already (or too much): verification decides
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            return  # "range not satisfiable": we hold every byte the server has
        raise DownloadError(f"{url} answered HTTP {error.code} ({error.reason})") from None
    except urllib.error.URLError as error:
        raise DownloadError(f"could not reach {url} ({error.reason})") from None
    except OSError as error:
        raise DownloadError(f"could not open {url} ({error})") from None
    with response:
        if response.status != 206:
            offset = 0  # the whole file is coming, not the rest of it
        length = response.headers.get("Content-Length")
        expected = offset + int(length) if length is not None else num_bytes
        received = _copy(response, part, offset, expected, make_bar)
    if expected is not None and offset + received < expected:
        # urllib returns a short body without complaint when the server closes early.
        raise _BrokenOff(f"got {offset + received} of {expected} bytes")


def _copy(response, part: Path, offset: int, expected: int | None, make_bar) -> int:
    """Appends the response body to the part (which is started afresh when offset is 0)."""
    received = 0
    with open(part, "ab" if offset else "wb") as file, make_bar(
        total=expected, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=part.name[: -len(".part")]
    ) as bar:
        while True:
            try:
                chunk = response.read(CHUNK_BYTES)
            except (http.client.HTTPException, OSError) as error:
                raise _BrokenOff(str(error) or type(error).__name__) from None
            if not chunk:
                return received
            file.write(chunk)
            received += len(chunk)
            bar.update(len(chunk))


def _verify(part: Path, url: str, sha256: str | None, num_bytes: int | None) -> None:
    size = part.stat().st_size
    if num_bytes is not None and size != num_bytes:
        part.unlink()
        raise DownloadError(
            f"{url} gave a file of {size} bytes; expected {num_bytes}. It was deleted: the file on the "
            "server is not the one expected"
        )
    if sha256 is not None and (digest := file_sha256(part)) != sha256.lower():
        part.unlink()
        raise DownloadError(
            f"the file downloaded from {url} is corrupt: its SHA-256 is {digest}, expected {sha256}. "
            "It was deleted; download it again"
        )
