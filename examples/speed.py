"""Time image encoding and mask decoding of one or more models (seed 000, "speed benchmarking").

    python examples/speed.py --model sam-vit-b sam2.1-hiera-tiny --sizes 1024 512

Prints, per model and input size, the mean time to encode a 1024 x 1024 image and to decode one
point prompt, and the peak GPU memory on CUDA. SAM v1 always encodes at its own size (1024); SAM
v2 / v2.1 at each of --sizes (``model.input_size``). To compare with the official code on the
same weights, run ``sam-stack benchmark`` or the scripts in benchmarks/.
"""

import argparse
import sys
import time

import numpy as np
import torch

import sam_stack


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", required=True, help="catalog names or checkpoint files")
    parser.add_argument("--sizes", nargs="+", type=int, default=[1024, 512], help="v2 input sides (default 1024 512)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each step (default 5)")
    parser.add_argument("--device", default="auto", help='"auto", "cpu", "cuda"...')
    args = parser.parse_args(argv)

    image = np.random.default_rng(0).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    print("| model | input | encode | decode | peak GPU memory |")
    print("|---|---|---|---|---|")
    for source in args.model:
        model = sam_stack.load_model(source, device=args.device)
        for side in args.sizes if model.version != "v1" else [None]:
            if side is not None:
                model.input_size = side
            if model.device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            encode_s = mean_seconds(lambda: model.encode_image(image), args.repeats, model.device)
            encoding = model.encode_image(image)
            decode_s = mean_seconds(lambda: model.predict(encoding, points=[[512, 512]]), args.repeats, model.device)
            memory = f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB" if model.device.type == "cuda" else "-"
            print(f"| {source} ({model.version} {model.size}) | {side or 1024} | {encode_s * 1e3:.1f} ms | {decode_s * 1e3:.2f} ms | {memory} |")
    return 0


def mean_seconds(step, repeats: int, device: torch.device) -> float:
    """Mean wall time of ``step`` over ``repeats`` runs, after one untimed warm-up run."""
    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()  # GPU work runs ahead of Python; wait for it before stopping the clock
    return (time.perf_counter() - start) / repeats


if __name__ == "__main__":
    sys.exit(main())
