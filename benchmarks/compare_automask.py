"""Segment everything, ours against the official ``SamAutomaticMaskGenerator``: time and memory.

Both get the same weights (an official SAM v1 re-randomised, tweaked so that masks follow the
image as in the tests, saved as an official checkpoint and loaded by ``sam_stack.load_model``),
the same image (discs of many sizes on a dark background) and the same parameters. Each side runs
in a fresh process, so that its peak resident memory (``ru_maxrss``) is its own; we print the
peak before generating (model and image loaded) and during it, the total time, the number of
masks, and whether both found the same masks (by IoU >= 0.99, in order).

Random weights do not score masks as trained ones do, so two sets of filters bound the work:
- "official": the official thresholds (predicted IoU 0.88, stability 0.95, offset 1.0). Few random
  masks pass them, so this is the case where filtering before upscaling saves the most.
- "permissive": the test suite's thresholds (IoU 0.0, stability 0.2, offset 0.002): most masks get
  upscaled, the case where it saves the least.

    python benchmarks/compare_automask.py                  # 2-block ViT, 768 x 1024, 32 x 32 grid
    python benchmarks/compare_automask.py --real           # ViT-B, 3000 x 4000, 32 x 32 grid
    python benchmarks/compare_automask.py --size vit_b --image 1500x2000 --filters permissive

The real-size run takes many minutes on 2 cores, and the official generator holds one batch of
upscaled logits, 64 x 3 x H x W float32 (9 GB at 3000 x 4000), so it is skipped when less memory
is available than that (``--skip-official`` skips it always).
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "reference_standins"))

from activate import activate  # noqa: E402

activate()

import sam_stack  # noqa: E402
from automask_inputs import random_discs, v1_weights_that_show_the_image  # noqa: E402
from official_v1 import OFFICIAL_VITS, SMALL_VIT, build_official_sam, save_official_checkpoint  # noqa: E402

FILTERS = {
    "official": dict(pred_iou_thresh=0.88, stability_score_thresh=0.95, stability_score_offset=1.0),
    "permissive": dict(pred_iou_thresh=0.0, stability_score_thresh=0.2, stability_score_offset=0.002),
}
VITS = {"small": SMALL_VIT, **OFFICIAL_VITS}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def run_side(side: str, checkpoint: Path, image_file: Path, parameters: dict, masks_file: Path) -> dict:
    """Runs one generator in this process; returns its timings and memory, saves its masks."""
    image = np.load(image_file)
    if side == "official":
        from segment_anything import SamAutomaticMaskGenerator
        from segment_anything.build_sam import sam_model_registry

        size = json.loads(checkpoint.with_suffix(".json").read_text())["size"]
        sam = _official_from_checkpoint(size, checkpoint, sam_model_registry)
        generator = SamAutomaticMaskGenerator(sam, **parameters)
        generate = generator.generate
    else:
        model = sam_stack.load_model(checkpoint, device="cpu")
        generate = lambda image: sam_stack.generate_masks(model, image, **parameters)  # noqa: E731
    before = peak_rss_mib()
    start = time.perf_counter()
    with torch.inference_mode():
        records = generate(image)
    seconds = time.perf_counter() - start
    peak = peak_rss_mib()
    np.savez_compressed(masks_file, *[np.packbits(record["segmentation"]) for record in records])
    return {"seconds": seconds, "rss_before_mib": before, "rss_peak_mib": peak, "masks": len(records)}


def _official_from_checkpoint(size: str, checkpoint: Path, registry):
    if size == "small":
        from segment_anything.build_sam import _build_sam

        sam = _build_sam(**SMALL_VIT)
        sam.load_state_dict(torch.load(checkpoint, weights_only=True))
        return sam.eval()
    return registry[size](checkpoint=str(checkpoint)).eval()


def same_masks(file_a: Path, file_b: Path) -> str:
    a, b = np.load(file_a), np.load(file_b)
    if len(a.files) != len(b.files):
        return f"no: {len(a.files)} and {len(b.files)} masks"
    ious = []
    for key in a.files:
        x, y = np.unpackbits(a[key]).astype(bool), np.unpackbits(b[key]).astype(bool)
        ious.append(np.count_nonzero(x & y) / max(np.count_nonzero(x | y), 1))
    worst = min(ious, default=1.0)
    return f"{'yes' if worst >= 0.99 else 'no'} (lowest mask IoU {worst:.4f})"


def available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("inf")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", action="store_true", help="ViT-B on a 3000x4000 image (sets --size and --image)")
    parser.add_argument("--size", choices=sorted(VITS), default="small")
    parser.add_argument("--image", default="768x1024", help="HxW of the test image")
    parser.add_argument("--points-per-side", type=int, default=32)
    parser.add_argument("--filters", choices=[*FILTERS, "both"], default="both")
    parser.add_argument("--skip-official", action="store_true")
    parser.add_argument("--run-side", choices=["official", "ours"], help=argparse.SUPPRESS)
    parser.add_argument("--files", nargs=4, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--parameters", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_side:
        checkpoint, image_file, masks_file, result_file = args.files
        result = run_side(args.run_side, checkpoint, image_file, json.loads(args.parameters), masks_file)
        result_file.write_text(json.dumps(result))
        return
    if args.real:
        args.size, args.image = "vit_b", "3000x4000"
    height, width = (int(v) for v in args.image.split("x"))

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        official = build_official_sam(VITS[args.size], seed=0)
        v1_weights_that_show_the_image(official)
        checkpoint = folder / "sam.pth"
        save_official_checkpoint(official, checkpoint)
        checkpoint.with_suffix(".json").write_text(json.dumps({"size": args.size}))
        del official
        image_file = folder / "image.npy"
        np.save(image_file, random_discs(height, width, seed=0, count=60))

        upscaled_gib = 64 * 3 * height * width * 4 / 2**30
        print(f"SAM v1 {args.size}, {height}x{width} image, {args.points_per_side}x{args.points_per_side} grid, "
              f"CPU threads: {torch.get_num_threads()}, torch {torch.__version__}")
        for filters in FILTERS if args.filters == "both" else [args.filters]:
            parameters = dict(points_per_side=args.points_per_side, **FILTERS[filters])
            results = {}
            for side in ("official", "ours"):
                if side == "official" and (args.skip_official or available_mib() < 1.5 * upscaled_gib * 1024):
                    print(f"  (official skipped: it needs about {upscaled_gib:.1f} GiB for one batch of logits)")
                    continue
                result_file = folder / f"{side}.json"
                subprocess.run(
                    [sys.executable, __file__, "--run-side", side, "--parameters", json.dumps(parameters),
                     "--files", str(checkpoint), str(image_file), str(folder / f"{side}_masks.npz"), str(result_file)],
                    check=True,
                )
                results[side] = json.loads(result_file.read_text())
            _print_table(filters, results)
            if len(results) == 2:
                print(f"  same masks: {same_masks(folder / 'official_masks.npz', folder / 'ours_masks.npz')}")


def _print_table(filters: str, results: dict) -> None:
    print(f"filters: {filters} {FILTERS[filters]}")
    print(f"  {'':<28}{'official':>12}{'ours':>12}{'ours/official':>16}")
    rows = [("total time (s)", "seconds"), ("peak RSS before (MiB)", "rss_before_mib"), ("peak RSS during (MiB)", "rss_peak_mib"), ("masks", "masks")]
    for name, key in rows:
        theirs, ours = results.get("official", {}).get(key), results.get("ours", {}).get(key)
        ratio = f"{ours / theirs:16.2f}" if theirs and ours is not None else f"{'':>16}"
        cells = "".join(f"{value:12.1f}" if value is not None else f"{'-':>12}" for value in (theirs, ours))
        print(f"  {name:<28}{cells}{ratio}")


if __name__ == "__main__":
    main()
