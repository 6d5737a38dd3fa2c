"""`sam-stack embed STACK --model M --cache DIR`: encode every frame of a stack once, ahead of time."""

from pathlib import Path

from tqdm.auto import tqdm

from .errors import SamStackError
from .io import read_stack
from .models import load_model
from .models.catalog import resolve
from .tasks.embedding_cache import EmbeddingCache
from .tasks.embedding_cache_encode import cached_encode
from .tasks.stack_tracking.frames import FrameReader

DESCRIPTION = """\
Encodes every frame of STACK with the model's image encoder and stores the encodings in DIR, so
that segmenting, segmenting everything or propagating through the same frames later (in napari
or from Python with EmbeddingCache(directory=DIR)) starts without encoding them. Frames already
in DIR are checked and skipped; entries made by another model, for other pixels or damaged are
replaced. STACK is a multi-page TIFF, a folder of frame images, a .npy file (memory-mapped) or a
.zarr array, (T, H, W) or (T, H, W, 3); a single 2-D image counts as one frame. Frames are read
and encoded one at a time: memory does not grow with the stack. Each encoding takes about 4 MB
(SAM v1) or 16 MB (SAM v2, with its finer levels) at the default 1024-pixel input."""


def register(subparsers) -> None:
    parser = subparsers.add_parser("embed", help="precompute the image encodings of a stack into a cache folder", description=DESCRIPTION)
    parser.add_argument("stack", type=Path, metavar="STACK", help="a TIFF stack, a folder of frames, a .npy or a .zarr array")
    parser.add_argument("--model", required=True, metavar="NAME_OR_FILE", help="a catalog name or a checkpoint file")
    parser.add_argument("--cache", required=True, type=Path, metavar="DIR", help="the cache folder (created if needed)")
    parser.add_argument(
        "--input-size", type=int, metavar="SIDE",
        help="SAM v2 / v2.1: the square input side frames are resized to (default: the model's, 1024 for the "
        "released ones); use the one you will segment or propagate with, as encodings at another size do not match",
    )
    parser.add_argument(
        "--bfloat16", action="store_true",
        help="SAM v2 / v2.1: encode in bfloat16, for `propagate --bfloat16` (encodings in one precision do not serve the other)",
    )
    parser.add_argument("--device", default="auto", help='"auto" (the default: CUDA, then MPS, then CPU), "cpu", "cuda"...')
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args) -> int:
    reader = FrameReader(read_stack(args.stack))
    model = load_model(resolve(args.model), device=args.device)
    if model.version == "v1" and (args.input_size is not None or args.bfloat16):
        option = "--bfloat16" if args.input_size is None else f"--input-size {args.input_size}"
        raise SamStackError(f"found {option} for a SAM v1 model; expected it only for SAM v2 / v2.1 (v1 encodes in float32 at a fixed size)")
    if args.input_size is not None:
        model.input_size = args.input_size
    model.use_bfloat16 = args.bfloat16
    # Nothing is kept in memory: each frame is encoded (or checked) and written, then dropped.
    cache = EmbeddingCache(max_bytes=0, directory=args.cache)
    for frame in tqdm(range(reader.num_frames), desc="embedding", unit="frame", disable=args.no_progress):
        cached_encode(model, reader.read(frame), cache)
    stats = cache.stats
    rejected = f", {stats.rejected} stale or damaged replaced" if stats.rejected else ""
    print(
        f"{args.cache}: {reader.num_frames} frame(s) of {args.stack} by {model.version} {model.size}: "
        f"{stats.misses} encoded, {stats.disk_hits} already there{rejected}"
    )
    return 0

