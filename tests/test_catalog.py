"""The catalog of official checkpoints: its entries, the user cache, and names resolved to
verified files (downloaded from a local server standing in for Meta's)."""

import hashlib
import re
import socket
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from file_server import FileServer
from official_v1 import SMALL_VIT, build_official_sam, save_official_checkpoint

import sam_stack
from sam_stack.errors import CheckpointError, DownloadError
from sam_stack.models.catalog import CATALOG, CatalogEntry, cached_path, fetch, resolve
from sam_stack.models.user_cache import user_cache_dir

# name -> (version, size, official file name)
EXPECTED = {
    "sam-vit-b": ("v1", "vit_b", "sam_vit_b_01ec64.pth"),
    "sam-vit-l": ("v1", "vit_l", "sam_vit_l_0b3195.pth"),
    "sam-vit-h": ("v1", "vit_h", "sam_vit_h_4b8939.pth"),
    "sam2-hiera-tiny": ("v2", "tiny", "sam2_hiera_tiny.pt"),
    "sam2-hiera-small": ("v2", "small", "sam2_hiera_small.pt"),
    "sam2-hiera-base-plus": ("v2", "base_plus", "sam2_hiera_base_plus.pt"),
    "sam2-hiera-large": ("v2", "large", "sam2_hiera_large.pt"),
    "sam2.1-hiera-tiny": ("v2.1", "tiny", "sam2.1_hiera_tiny.pt"),
    "sam2.1-hiera-small": ("v2.1", "small", "sam2.1_hiera_small.pt"),
    "sam2.1-hiera-base-plus": ("v2.1", "base_plus", "sam2.1_hiera_base_plus.pt"),
    "sam2.1-hiera-large": ("v2.1", "large", "sam2.1_hiera_large.pt"),
}


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SAM_STACK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> bytes:
    """The bytes of a small official-format SAM v1 checkpoint with random weights."""
    path = tmp_path_factory.mktemp("weights") / "tiny.pth"
    save_official_checkpoint(build_official_sam(SMALL_VIT, seed=0), path)
    return path.read_bytes()


@pytest.fixture
def served_model(monkeypatch, tiny_checkpoint):
    """A catalog entry "test-tiny" whose file is on a local server; yields the server."""
    with FileServer({"sam_tiny.pth": tiny_checkpoint}) as server:
        entry = CatalogEntry(
            "test-tiny", "v1", "custom", server.url("sam_tiny.pth"), len(tiny_checkpoint),
            hashlib.sha256(tiny_checkpoint).hexdigest(),
        )  # fmt: skip
        monkeypatch.setitem(CATALOG, entry.name, entry)
        yield server


def test_lists_the_official_models():
    assert sam_stack.list_models() == list(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_entries_are_consistent(name):
    entry = CATALOG[name]
    assert (entry.name, (entry.version, entry.size, entry.file_name)) == (name, EXPECTED[name])
    folder = {"v1": "segment_anything", "v2": "segment_anything_2/072824", "v2.1": "segment_anything_2/092824"}
    assert entry.url == f"https://dl.fbaipublicfiles.com/{folder[entry.version]}/{entry.file_name}"
    assert re.fullmatch(r"[0-9a-f]{64}", entry.sha256)
    assert 100_000_000 < entry.num_bytes < 3_000_000_000


def test_no_two_entries_share_a_file_or_checksum():
    entries = CATALOG.values()
    assert len({entry.file_name for entry in entries}) == len({entry.sha256 for entry in entries}) == len(entries)


def test_cache_folder_follows_the_platform(monkeypatch):
    monkeypatch.delenv("SAM_STACK_CACHE", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg")
    assert user_cache_dir() == Path("/xdg/sam-stack")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert user_cache_dir() == Path.home() / ".cache" / "sam-stack"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert user_cache_dir() == Path.home() / "Library" / "Caches" / "sam-stack"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", "/local")
    assert user_cache_dir() == Path("/local/sam-stack/Cache")
    monkeypatch.setenv("SAM_STACK_CACHE", "/elsewhere")
    assert user_cache_dir() == Path("/elsewhere")


def test_paths_are_returned_unchanged(tmp_path):
    assert resolve(tmp_path / "mine.pth") == tmp_path / "mine.pth"
    assert resolve("folder/not-yet-there.pt") == Path("folder/not-yet-there.pt")


def test_a_mistyped_name_gets_a_suggestion():
    with pytest.raises(CheckpointError, match="did you mean 'sam-vit-b'.*expected one of sam-vit-b, sam-vit-l"):
        resolve("sam-vit-bb")


def test_a_name_is_downloaded_once_then_loaded_from_the_cache(cache, served_model, tiny_checkpoint):
    path = resolve("test-tiny", progress=None)
    assert path == cache / "models" / "sam_tiny.pth" == cached_path("test-tiny")
    assert path.read_bytes() == tiny_checkpoint
    assert resolve("test-tiny", progress=None) == path
    assert len(served_model.requests) == 1
    model = sam_stack.load_model(path, device="cpu")
    assert (model.version, model.size) == ("v1", "custom")


def test_a_cached_file_of_the_wrong_size_is_fetched_again(cache, served_model, tiny_checkpoint):
    cached_path("test-tiny").parent.mkdir(parents=True)
    cached_path("test-tiny").write_bytes(tiny_checkpoint[:1000])
    assert resolve("test-tiny", progress=None).read_bytes() == tiny_checkpoint
    assert len(served_model.requests) == 1


def test_verify_replaces_a_corrupt_cached_file(cache, served_model, tiny_checkpoint):
    corrupt = bytearray(tiny_checkpoint)
    corrupt[-100] ^= 0xFF
    cached_path("test-tiny").parent.mkdir(parents=True)
    cached_path("test-tiny").write_bytes(bytes(corrupt))
    assert fetch("test-tiny", progress=None) == cached_path("test-tiny")  # trusted by size alone
    assert fetch("test-tiny", progress=None, verify=True).read_bytes() == tiny_checkpoint


def test_offline_the_error_says_which_file_where_and_how_to_pass_one(cache, monkeypatch):
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    offline = replace(CATALOG["sam-vit-b"], url=f"http://127.0.0.1:{port}/sam_vit_b_01ec64.pth")
    monkeypatch.setitem(CATALOG, "sam-vit-b", offline)
    with pytest.raises(DownloadError) as raised:
        sam_stack.load_model(resolve("sam-vit-b", progress=None))
    message = str(raised.value)
    assert "model 'sam-vit-b' could not be downloaded: could not reach" in message
    assert f"sam_vit_b_01ec64.pth was expected at {cache / 'models' / 'sam_vit_b_01ec64.pth'}" in message
    assert "load_model('/path/to/sam_vit_b_01ec64.pth')" in message
    assert "--model /path/to/sam_vit_b_01ec64.pth" in message
    assert not any(cache.rglob("*.pth"))
