"""Long stacks and large images: peak memory, time and embedding-cache hit rates.

1. A long memory-mapped stack (2000 frames by default; a disc drifting over noise, as in
   ``compare_propagation``) with a shrunk random-weight SAM 2.1, each step in a fresh process so
   its peak RSS is its own:

   - embed: ``sam-stack embed`` into a cache folder (every frame encoded once, written to disk);
   - propagate, no cache: ``StackTracker`` forward from a point on frame 0, encoding every frame;
   - propagate, cache: the same with ``EmbeddingCache(directory=...)``, filled by ``embed``;
   - correct + propagate, cache: a second prompt (a background point) on the middle frame, then
     propagating from there, as after a correction in napari;
   - official: ``SAM2VideoPredictor`` on the same frames (handed over preprocessed, as
     ``compare_propagation``'s "official" side), forward from the same point.

   Printed per step: seconds per frame, peak RSS, the process's own memory at the end ("anon",
   without the memory-mapped stack's pages), cache hits / lookups; then ratios.

2. A large memory-mapped image (10000 x 10000 by default), segmented by the tiled automatic mask
   generator (``generate_labels_tiled``) into a zarr label image on disk: peak RSS and time. The
   official generator has no tiled mode to compare with (it resizes the whole image to its input).

    python benchmarks/long_stacks.py                       # 2000 frames of 64 x 64, 10000 x 10000 image
    python benchmarks/long_stacks.py --frames 200 --large 4000

The shrunk model (``tests/official_v2.SMALL_OVERRIDES``) at a small input keeps the run within
minutes on a laptop CPU; memory and hit rates do not depend on the model's size, only time does.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "reference_standins"))
sys.path.insert(0, str(REPO / "benchmarks"))

from activate import activate  # noqa: E402
from compare_propagation import PROMPT_XY, make_stack, memory_status_mb, peak_rss_mb  # noqa: E402

activate()

STEPS = ("embed", "propagate, no cache", "propagate, cache", "correct + propagate, cache", "official")


def run_step(step: str, checkpoint: Path, stack_path: Path, cache_dir: Path, image_size: int) -> dict:
    import sam_stack
    from sam_stack.cli import main as sam_stack_main
    from sam_stack.tasks.embedding_cache import EmbeddingCache

    frames = np.load(stack_path, mmap_mode="r")
    height, width = frames.shape[1:]
    point = [[PROMPT_XY[0] * width, PROMPT_XY[1] * height]]
    baseline = peak_rss_mb()
    start = time.perf_counter()
    stats = None
    if step == "embed":
        command = ["embed", str(stack_path), "--model", str(checkpoint), "--cache", str(cache_dir), "--no-progress"]
        sam_stack_main([*command, "--input-size", str(image_size)])
    elif step == "official":
        run_official(checkpoint, frames, point, image_size)
    else:
        model = sam_stack.load_model(checkpoint, device="cpu")
        model.input_size = image_size
        cache = None if step == "propagate, no cache" else EmbeddingCache(directory=cache_dir)
        tracker = sam_stack.StackTracker(model, frames, embedding_cache=cache)
        tracker.add_prompt(0, 1, points=point)
        first = 0
        if step.startswith("correct"):
            first = len(frames) // 2
            tracker.add_prompt(first, 1, points=point, point_labels=[0])
        for _ in tracker.propagate(start=first):
            pass
        stats = cache and cache.stats
    return {
        "frames": len(frames),
        "seconds": time.perf_counter() - start,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": peak_rss_mb(),
        "anon_rss_mb": memory_status_mb("RssAnon") or float("nan"),
        "hits": None if stats is None else stats.memory_hits + stats.disk_hits,
        "lookups": None if stats is None else stats.lookups,
    }


def run_official(checkpoint: Path, frames, point, image_size: int) -> None:
    from official_v2_video import build_official_video_predictor, official_state

    predictor = build_official_video_predictor(image_size=image_size)
    predictor.load_state_dict(torch.load(checkpoint, weights_only=True)["model"])
    with torch.inference_mode():
        state = official_state(predictor, frames)
        predictor.add_new_points_or_box(state, 0, 1, points=np.array(point, np.float32), labels=np.array([1], np.int32))
        for _ in predictor.propagate_in_video(state):
            pass


def run_large(checkpoint: Path, image_path: Path, labels_path: Path, tile_size: int, image_size: int) -> dict:
    import zarr

    import sam_stack
    from sam_stack.tasks.automask.tiled import generate_labels_tiled

    model = sam_stack.load_model(checkpoint, device="cpu")
    model.input_size = image_size
    image = np.load(image_path, mmap_mode="r")
    out = zarr.create_array(store=str(labels_path), shape=image.shape, chunks=(1024, 1024), dtype=np.uint32, fill_value=0)
    baseline = peak_rss_mb()
    start = time.perf_counter()
    generate_labels_tiled(model, image, tile_size=tile_size, overlap=tile_size // 4, out=out, points_per_side=4)
    return {
        "pixels": int(image.size),
        "seconds": time.perf_counter() - start,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": peak_rss_mb(),
        "anon_rss_mb": memory_status_mb("RssAnon") or float("nan"),
        "objects": int(len(np.unique(out[::8, ::8]))) - 1,
    }


def make_large_image(path: Path, side: int) -> None:
    """A (side, side) uint8 .npy of bright discs on noise, written in bands of rows."""
    image = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(side, side))
    rng = np.random.default_rng(1)
    band = 500
    columns = np.arange(side)
    for top in range(0, side, band):
        rows = np.arange(top, min(top + band, side))[:, None]
        discs = ((rows % 400 - 200) ** 2 + (columns % 400 - 200) ** 2) < 120**2
        image[top : top + band] = np.where(discs, 200, 40) + rng.integers(0, 40, discs.shape)
    image.flush()


def fresh_process(args, *extra: str) -> dict:
    command = [sys.executable, __file__, "--threads", str(args.threads), "--image-size", str(args.image_size), *extra]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=2000, help="frames of the long stack (0 to skip)")
    parser.add_argument("--frame-size", default="64x64", help="HxW of the stack's frames")
    parser.add_argument("--image-size", type=int, default=64, help="the model's input side")
    parser.add_argument("--large", type=int, default=10000, help="side of the large image (0 to skip)")
    parser.add_argument("--tile-size", type=int, default=1024, help="tiles of the large image")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--paths", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")  # the official fill-holes step warns on every CPU frame

    if args.worker == "large":
        print(json.dumps(run_large(*args.paths, args.tile_size, args.image_size)))
        return
    if args.worker:
        print(json.dumps(run_step(args.worker, *args.paths, args.image_size)))
        return

    from official_v2 import save_official_checkpoint
    from official_v2_video import build_official_video_predictor

    height, width = (int(side) for side in args.frame_size.split("x"))
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        torch.manual_seed(0)
        checkpoint = folder / "sam2.1.pt"
        save_official_checkpoint(build_official_video_predictor(image_size=args.image_size), checkpoint)
        results = {}
        if args.frames:
            stack_path = folder / "stack.npy"
            make_stack(stack_path, args.frames, height, width)
            for step in STEPS:
                results[step] = fresh_process(args, "--worker", step, "--paths", str(checkpoint), str(stack_path), str(folder / "cache"))
        large = None
        if args.large:
            image_path = folder / "large.npy"
            make_large_image(image_path, args.large)
            large = fresh_process(
                args, "--worker", "large", "--tile-size", str(args.tile_size),
                "--paths", str(checkpoint), str(image_path), str(folder / "large_labels.zarr"),
            )

    print(f"SAM 2.1 shrunk tiny, {args.image_size}-pixel input, CPU threads: {args.threads}, torch {torch.__version__}")
    if results:
        print(f"\n{args.frames} memory-mapped frames of {height}x{width} uint8")
        print(f"{'step':<28}{'s/frame':>9}{'total s':>9}{'peak RSS MB':>13}{'(at start)':>12}{'end anon MB':>13}{'cache hits':>18}")
        for step, result in results.items():
            hits = "" if result["hits"] is None else f"{result['hits']}/{result['lookups']} ({result['hits'] / max(1, result['lookups']):.0%})"
            print(
                f"{step:<28}{result['seconds'] / result['frames']:>9.4f}{result['seconds']:>9.1f}{result['peak_rss_mb']:>13.0f}"
                f"{result['baseline_rss_mb']:>12.0f}{result['anon_rss_mb']:>13.0f}{hits:>18}"
            )
        cold, warm, official = results["propagate, no cache"], results["propagate, cache"], results["official"]
        print(f"time, propagate with the cache / without: {warm['seconds'] / cold['seconds']:.2f}")
        print(f"time, (embed + propagate with the cache) / without: {(results['embed']['seconds'] + warm['seconds']) / cold['seconds']:.2f}")
        for label, ours in (("no cache", cold), ("cache", warm)):
            print(
                f"ours ({label}) / official: time {ours['seconds'] / official['seconds']:.2f}, "
                f"peak RSS {ours['peak_rss_mb'] / official['peak_rss_mb']:.2f}"
            )
    if large:
        side = int(large["pixels"] ** 0.5)
        print(f"\n{side}x{side} memory-mapped uint8 image, tiled automatic masks ({args.tile_size}-pixel tiles) into zarr")
        print(
            f"time {large['seconds']:.1f} s, peak RSS {large['peak_rss_mb']:.0f} MB (at start {large['baseline_rss_mb']:.0f}), "
            f"end anon {large['anon_rss_mb']:.0f} MB, image {large['pixels'] / 2**20:.0f} MB, labels {4 * large['pixels'] / 2**20:.0f} MB"
        )


if __name__ == "__main__":
    main()
