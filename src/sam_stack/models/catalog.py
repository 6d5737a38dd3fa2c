"""The official SAM checkpoints by name: download addresses, sizes and SHA-256 checksums.

``resolve(source)`` turns a catalog name such as "sam-vit-b" into the path of a verified file in
the user cache (:mod:`.user_cache`), downloading it the first time; anything else is taken as
the path of a checkpoint file and returned unchanged. A download is checked against the size and
SHA-256 listed here before it is put in place (:mod:`.download`), and only verified files are
ever renamed into the cache, so a cached file of the right size is used without hashing it again.

No weights could be downloaded where this catalog was written, so no checksum was computed here:
each one was copied from public records, named in the comments above each group, and every one
was found in at least two independent places. The six hex digits in the v1 file names (the
"01ec64" of ``sam_vit_b_01ec64.pth``) are not the start of the SHA-256; no public statement of
what they are was found, so nothing relies on them.
"""

import difflib
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ..errors import CheckpointError, DownloadError
from .download import download, file_sha256
from .user_cache import user_cache_dir

# What a path to a checkpoint file usually ends with; a string without a folder or one of these
# endings that names no file is taken for a mistyped catalog name.
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".safetensors")


@dataclass(frozen=True)
class CatalogEntry:
    """One official checkpoint. ``version`` and ``size`` are what ``load_model`` reports."""

    name: str
    version: str
    size: str
    url: str
    num_bytes: int
    sha256: str

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


_V1 = "https://dl.fbaipublicfiles.com/segment_anything/"
_V2 = "https://dl.fbaipublicfiles.com/segment_anything_2/072824/"
_V2_1 = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/"

CATALOG: dict[str, CatalogEntry] = {
    entry.name: entry
    for entry in (
        # SAM v1 (github.com/facebookresearch/segment-anything#model-checkpoints).
        # SHA-256: github.com/computational-cell-analytics/micro-sam, micro_sam/util.py (commit
        # 00006fc6, its pooch registry), and github.com/mazurowski-lab/SlicerSegmentWithSAM,
        # SegmentWithSAM/SegmentWithSAM.py (commit 09079a98). Sizes, with the same SHA-256: the Git
        # LFS pointers of huggingface.co/mashb1t/misc, commit 78e1813.
        CatalogEntry("sam-vit-b", "v1", "vit_b", _V1 + "sam_vit_b_01ec64.pth", 375_042_383,
                     "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912"),
        CatalogEntry("sam-vit-l", "v1", "vit_l", _V1 + "sam_vit_l_0b3195.pth", 1_249_524_607,
                     "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622"),
        CatalogEntry("sam-vit-h", "v1", "vit_h", _V1 + "sam_vit_h_4b8939.pth", 2_564_550_879,
                     "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e"),
        # SAM 2 (July 2024). SHA-256: micro-sam, micro_sam/v2/util.py (commit 4f6cca85,
        # HASHES["sam2.0"]), SlicerSegmentWithSAM (file above), and Meta's own uploads, whose Git LFS
        # details show the same digests (huggingface.co/facebook/sam2-hiera-tiny, -small,
        # -base-plus). Sizes: LFS pointers of facebook/sam2-hiera-tiny (commit a8e4b46),
        # merve/sam2-hiera-base-plus (838f027) and merve/sam2-hiera-large (9551b5a); the small one
        # from several public download scripts that pin it beside the same SHA-256 (the search
        # index did not name their repositories), matching the "184 MB" of facebook/sam2-hiera-small.
        CatalogEntry("sam2-hiera-tiny", "v2", "tiny", _V2 + "sam2_hiera_tiny.pt", 155_906_050,
                     "65b50056e05bcb13694174f51bb6da89c894b57b75ccdf0ba6352c597c5d1125"),
        CatalogEntry("sam2-hiera-small", "v2", "small", _V2 + "sam2_hiera_small.pt", 184_309_650,
                     "95949964d4e548409021d47b22712d5f1abf2564cc0c3c765ba599a24ac7dce3"),
        CatalogEntry("sam2-hiera-base-plus", "v2", "base_plus", _V2 + "sam2_hiera_base_plus.pt", 323_493_298,
                     "d0bb7f236400a49669ffdd1be617959a8b1d1065081789d7bbff88eded3a8071"),
        CatalogEntry("sam2-hiera-large", "v2", "large", _V2 + "sam2_hiera_large.pt", 897_952_466,
                     "7442e4e9b732a508f80e141e7c2913437a3610ee0c77381a66658c3a445df87b"),
        # SAM 2.1 (September 2024). SHA-256: micro-sam, micro_sam/v2/util.py (commits 4f6cca85 and
        # 05c57cce, HASHES), and Meta's uploads huggingface.co/facebook/sam2.1-hiera-tiny and -small
        # (Git LFS details). Sizes, with the same SHA-256: the LFS pointers of
        # huggingface.co/camenduru/sam2-1-hiera, commit cdd35a4.
        CatalogEntry("sam2.1-hiera-tiny", "v2.1", "tiny", _V2_1 + "sam2.1_hiera_tiny.pt", 156_008_466,
                     "7402e0d864fa82708a20fbd15bc84245c2f26dff0eb43a4b5b93452deb34be69"),
        CatalogEntry("sam2.1-hiera-small", "v2.1", "small", _V2_1 + "sam2.1_hiera_small.pt", 184_416_285,
                     "6d1aa6f30de5c92224f8172114de081d104bbd23dd9dc5c58996f0cad5dc4d38"),
        CatalogEntry("sam2.1-hiera-base-plus", "v2.1", "base_plus", _V2_1 + "sam2.1_hiera_base_plus.pt", 323_606_802,
                     "a2345aede8715ab1d5d31b4a509fb160c5a4af1970f199d9054ccfb746c004c5"),
        CatalogEntry("sam2.1-hiera-large", "v2.1", "large", _V2_1 + "sam2.1_hiera_large.pt", 898_083_611,
                     "2647878d5dfa5098f2f8649825738a9345572bae2d4350a2468587ece47dd318"),
    )
}


def list_models() -> list[str]:
    """The catalog names, v1 first, smallest first within a version."""
    return list(CATALOG)


def resolve(source, progress=tqdm) -> Path:
    """A catalog name -> the path of its verified file in the cache (downloaded if needed);
    any other source -> ``Path(source)``, unchanged.

    progress: a tqdm-compatible class for the download's progress bar, or None.
    """
    if isinstance(source, str) and source in CATALOG:
        return fetch(source, progress=progress)
    path = Path(source)
    if isinstance(source, str) and not path.exists() and _looks_like_a_name(source):
        raise CheckpointError(f"{source!r} is neither a file nor a model name; {_expected_names(source)}")
    return path


def fetch(name: str, progress=tqdm, verify: bool = False) -> Path:
    """The path of catalog model ``name`` in the cache, downloading it if it is not there.

    verify: re-check the SHA-256 of a file already cached (a cached file is otherwise trusted
    if its size is right, since only verified downloads are put in the cache); a cached file
    that fails is downloaded again.
    Raises :class:`~sam_stack.errors.DownloadError` when the file is not cached and cannot be
    downloaded, saying where it was expected and how to pass a file instead.
    """
    entry = _entry(name)
    path = cached_path(name)
    if is_cached(name) and (not verify or file_sha256(path) == entry.sha256):
        return path
    try:
        return download(entry.url, path, sha256=entry.sha256, num_bytes=entry.num_bytes, progress=progress)
    except DownloadError as error:
        raise DownloadError(
            f"model {name!r} could not be downloaded: {error}. Its file {entry.file_name} was expected at "
            f"{path}. Without internet access, fetch {entry.url} elsewhere and pass the file's path instead "
            f"of the name: load_model('/path/to/{entry.file_name}') in Python, "
            f"--model /path/to/{entry.file_name} on the command line"
        ) from None


def cached_path(name: str) -> Path:
    """Where the cache keeps (or will keep) catalog model ``name``."""
    return user_cache_dir() / "models" / _entry(name).file_name


def is_cached(name: str) -> bool:
    """Whether catalog model ``name`` is in the cache, whole (a file of another size is not)."""
    path = cached_path(name)
    return path.is_file() and path.stat().st_size == _entry(name).num_bytes


def _entry(name: str) -> CatalogEntry:
    try:
        return CATALOG[name]
    except KeyError:
        raise CheckpointError(f"no model named {name!r}; {_expected_names(name)}") from None


def _looks_like_a_name(source: str) -> bool:
    return "/" not in source and "\\" not in source and not source.lower().endswith(CHECKPOINT_SUFFIXES)


def _expected_names(given: str) -> str:
    close = difflib.get_close_matches(given, CATALOG, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}expected one of {', '.join(CATALOG)}, or the path of a checkpoint file"
