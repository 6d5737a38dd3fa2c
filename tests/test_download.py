"""Downloads: verified before they are put in place, resumed after a broken transfer, never
left half there; over HTTP from a local server, and from file:// URLs."""

import hashlib
import socket

import numpy as np
import pytest
from file_server import FileServer

from sam_stack.errors import DownloadError
from sam_stack.models import download as download_module
from sam_stack.models.download import download, partial_path

# Larger than one read chunk (1 MiB), so that transfers take several reads.
PAYLOAD = np.random.default_rng(0).integers(0, 256, 2_500_000, dtype=np.uint8).tobytes()
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture(autouse=True)
def no_retry_delays(monkeypatch):
    monkeypatch.setattr(download_module, "RETRY_DELAYS_S", (0.0, 0.0))


@pytest.fixture
def server():
    with FileServer({"model.pt": PAYLOAD}) as server:
        yield server


def fetch(server, destination, **kwargs):
    return download(server.url("model.pt"), destination, sha256=SHA256, num_bytes=len(PAYLOAD), progress=None, **kwargs)


def test_downloads_a_file_and_puts_it_in_place(server, tmp_path):
    destination = tmp_path / "cache" / "model.pt"
    assert fetch(server, destination) == destination
    assert destination.read_bytes() == PAYLOAD
    assert not partial_path(destination).exists()
    assert server.requests == [("model.pt", None)]


def test_resumes_a_transfer_that_breaks_off(server, tmp_path):
    server.break_after["model.pt"] = [1_000_000]
    destination = tmp_path / "model.pt"
    fetch(server, destination)
    assert destination.read_bytes() == PAYLOAD
    assert server.requests == [("model.pt", None), ("model.pt", "bytes=1000000-")]


def test_keeps_the_bytes_when_every_attempt_breaks_off_and_resumes_on_the_next_call(server, tmp_path):
    server.break_after["model.pt"] = [300_000, 300_000, 300_000]
    destination = tmp_path / "model.pt"
    with pytest.raises(DownloadError, match="broke off 3 times.*next attempt resumes"):
        fetch(server, destination)
    assert not destination.exists()
    assert partial_path(destination).read_bytes() == PAYLOAD[:900_000]
    fetch(server, destination)
    assert destination.read_bytes() == PAYLOAD
    assert server.requests[-1] == ("model.pt", "bytes=900000-")


def test_rejects_a_corrupt_download_and_deletes_it(tmp_path):
    corrupt = bytearray(PAYLOAD)
    corrupt[123_456] ^= 0xFF
    destination = tmp_path / "model.pt"
    with FileServer({"model.pt": bytes(corrupt)}) as server:
        with pytest.raises(DownloadError, match=f"corrupt.*expected {SHA256}"):
            fetch(server, destination)
    assert not destination.exists()
    assert not partial_path(destination).exists()


def test_rejects_a_file_of_another_size(tmp_path):
    destination = tmp_path / "model.pt"
    with FileServer({"model.pt": PAYLOAD[:-10]}) as server:
        with pytest.raises(DownloadError, match=f"expected {len(PAYLOAD)}"):
            fetch(server, destination)
    assert not destination.exists() and not partial_path(destination).exists()


def test_starts_again_when_the_server_ignores_the_range(server, tmp_path):
    destination = tmp_path / "model.pt"
    partial_path(destination).write_bytes(b"left over from another file" * 100)
    server.ignore_range = True
    fetch(server, destination)
    assert destination.read_bytes() == PAYLOAD


def test_a_complete_part_is_verified_without_a_transfer(server, tmp_path):
    destination = tmp_path / "model.pt"
    partial_path(destination).write_bytes(PAYLOAD)
    fetch(server, destination)
    assert destination.read_bytes() == PAYLOAD
    assert server.requests == []


def test_a_complete_part_of_unknown_size_is_verified_after_the_server_says_416(server, tmp_path):
    destination = tmp_path / "model.pt"
    partial_path(destination).write_bytes(PAYLOAD)
    download(server.url("model.pt"), destination, sha256=SHA256, progress=None)
    assert destination.read_bytes() == PAYLOAD
    assert server.requests == [("model.pt", f"bytes={len(PAYLOAD)}-")]


def test_downloads_from_a_file_url_even_over_a_stale_part(tmp_path):
    source = tmp_path / "source.pt"
    source.write_bytes(PAYLOAD)
    destination = tmp_path / "cache" / "model.pt"
    destination.parent.mkdir()
    partial_path(destination).write_bytes(PAYLOAD[:1000])  # file:// cannot resume: sent whole again
    download(source.as_uri(), destination, sha256=SHA256, num_bytes=len(PAYLOAD), progress=None)
    assert destination.read_bytes() == PAYLOAD


def test_says_when_the_server_cannot_be_reached(tmp_path):
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadError, match=f"could not reach http://127.0.0.1:{port}/model.pt"):
        download(f"http://127.0.0.1:{port}/model.pt", tmp_path / "model.pt", progress=None)


def test_reports_an_http_error(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(server.url("missing.pt"), tmp_path / "missing.pt", progress=None)
