"""SAM v1 speed, ours against the official ``segment-anything``, same weights, same process.

Both models get the same random weights (an official ViT re-randomised and saved as an official
checkpoint, loaded by ``sam_stack.load_model``) and the same image and prompts. Prints image
encoding time, decoder time per prompt and their ratios (ours / official; below 1 is faster).

    python benchmarks/compare_v1.py --size vit_b --repeats 3
"""

import argparse
import statistics
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
from official_v1 import OFFICIAL_VITS, build_official_sam, save_official_checkpoint  # noqa: E402


def paired_seconds(official, ours, repeats: int) -> tuple[float, float]:
    """Median wall times of the two callables, run alternately after one warm-up call each, so
    that a machine busy with other work slows both alike."""
    official(), ours()
    times = ([], [])
    for _ in range(repeats):
        for fn, record in zip((official, ours), times):
            start = time.perf_counter()
            fn()
            record.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(OFFICIAL_VITS), default="vit_b")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--image", default="768x1024", help="HxW of the random test image")
    args = parser.parse_args(argv)
    from segment_anything import SamPredictor

    torch.manual_seed(0)
    height, width = (int(v) for v in args.image.split("x"))
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    official = build_official_sam(OFFICIAL_VITS[args.size], seed=0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"sam_{args.size}.pth"
        save_official_checkpoint(official, path)
        ours = sam_stack.load_model(path, device="cpu")
    predictor = SamPredictor(official)
    points, labels = np.array([[width * 0.4, height * 0.5], [width * 0.7, height * 0.3]]), np.array([1, 0])

    with torch.inference_mode():
        encode_official, encode_ours = paired_seconds(lambda: predictor.set_image(image), lambda: ours.encode_image(image), args.repeats)
        encoding = ours.encode_image(image)
        decode_official, decode_ours = paired_seconds(
            lambda: predictor.predict(points, labels), lambda: ours.predict(encoding, points, labels), 10 * args.repeats
        )

    print(f"SAM v1 {args.size}, {height}x{width} image, CPU threads: {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"{'step':<28}{'official':>12}{'ours':>12}{'ours/official':>16}")
    for name, theirs, mine in (
        ("image encoding (s)", encode_official, encode_ours),
        ("decoder, per prompt (ms)", decode_official * 1e3, decode_ours * 1e3),
    ):
        print(f"{name:<28}{theirs:>12.3f}{mine:>12.3f}{mine / theirs:>16.2f}")


if __name__ == "__main__":
    main()
