"""Propagation through a stack: ``StackTracker`` against the official ``SAM2VideoPredictor``.

Both get the same weights (an official predictor re-randomised and saved as an official
checkpoint, loaded by ``sam_stack.load_model``), the same memmapped stack (a bright disc drifting
over noise, uint8) and the same point prompt on frame 0, and propagate forward over every frame.
Each run is a fresh process, so its peak RSS is its own. The official predictor runs two ways:

- "official": handed the frames exactly as we preprocess them, in memory (its ``init_state``
  is bypassed): the same computation as ours, so this compares the implementations;
- "official-jpeg": as a user must run it on a stack: the frames written as a folder of JPEGs,
  then ``init_state`` on that folder (it decodes and resizes every frame up front), so this
  compares the time to segment the stack.

Printed:

1. memory: peak RSS over a short and a long stack (20 and 200 frames): ours must not grow with
   the stack (long / short <= 1.15); the official predictor holds every frame at the model's
   input size and every frame's outputs, so its grows;
2. speed: seconds per frame on the long stack, wall and CPU time (CPU time is robust to other
   work on the machine), and ours / official (below 1 is faster);
3. a very long stack (2000 frames) through ours only: it is read one frame at a time, so neither
   time per frame nor the process's own memory ("anon") changes; its peak RSS also counts the
   pages of the memmapped file read so far ("file"), which the system may drop at any time;
4. with ``--bf16``, ours also with ``model.use_bfloat16`` ("ours-bf16": image encoder and memory
   attention in bfloat16): its speed, and how well its masks agree with ours in float32 (IoU per
   frame where either has the object).

    python benchmarks/compare_propagation.py                  # shrunk model, 256-pixel input
    python benchmarks/compare_propagation.py --real --frames 6 12 --long 0   # SAM 2.1 tiny at 1024
    python benchmarks/compare_propagation.py --real --frames 6 12 --long 0 --bf16

The shrunk model (``tests/official_v2.SMALL_OVERRIDES``) runs every code path in a fraction of
the time; ``--real`` uses the released tiny architecture at 1024 pixels (tens of seconds per
frame on a laptop CPU).
"""

import argparse
import json
import os
import resource
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

from activate import activate  # noqa: E402

activate()

SIDES = ("ours", "official", "official-jpeg")
PROMPT_XY = (0.3, 0.4)  # the disc's centre on frame 0, as fractions of width and height


def make_stack(path: Path, num_frames: int, height: int, width: int) -> None:
    """Writes a (T, H, W) uint8 .npy: a bright disc drifting right and down over noise."""
    stack = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(num_frames, height, width))
    rows, columns = np.mgrid[:height, :width]
    rng = np.random.default_rng(0)
    for frame in range(num_frames):
        centre_x = width * (PROMPT_XY[0] + 0.3 * (frame % 100) / 100)
        centre_y = height * (PROMPT_XY[1] + 0.2 * (frame % 100) / 100)
        disc = (columns - centre_x) ** 2 + (rows - centre_y) ** 2 < (0.12 * height) ** 2
        stack[frame] = np.where(disc, 200, 40) + rng.integers(0, 40, (height, width))
    stack.flush()


def memory_status_mb(field: str) -> float | None:
    """A field of Linux's /proc/self/status in MB (None elsewhere)."""
    status = Path("/proc/self/status")
    if not status.exists():
        return None
    for line in status.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return None


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM starts afresh in a new program, while
    ``ru_maxrss`` would carry over the parent's peak from before the fork."""
    peak = memory_status_mb("VmHWM")
    if peak is not None:
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 1024**2)


def run_ours(checkpoint: Path, stack_path: Path, image_size: int, bfloat16: bool, masks_path: Path | None) -> dict:
    import sam_stack

    model = sam_stack.load_model(checkpoint, device="cpu")
    model.input_size = image_size
    model.use_bfloat16 = bfloat16
    frames = np.load(stack_path, mmap_mode="r")
    baseline = peak_rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    tracker = sam_stack.StackTracker(model, frames)
    height, width = tracker.frame_shape
    tracker.add_prompt(0, 1, points=[[PROMPT_XY[0] * width, PROMPT_XY[1] * height]])
    areas, packed = [], []
    for _, masks in tracker.propagate():
        areas.append(int(masks[1].sum()))
        if masks_path is not None:  # kept only to compare with bfloat16: 1 bit per pixel
            packed.append(np.packbits(masks[1], axis=-1))
    result = timings(len(frames), wall, cpu, baseline, areas)
    if masks_path is not None:
        np.save(masks_path, np.stack(packed))
    return result


def run_official(checkpoint: Path, stack_path: Path, image_size: int, real: bool, from_jpegs: bool) -> dict:
    from PIL import Image

    from official_v2_video import build_official_video_predictor, official_state

    predictor = build_official_video_predictor(small=not real, image_size=image_size)
    predictor.load_state_dict(torch.load(checkpoint, weights_only=True)["model"])
    frames = np.load(stack_path, mmap_mode="r")
    baseline = peak_rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    with torch.inference_mode(), tempfile.TemporaryDirectory() as folder:
        if from_jpegs:
            for index, frame in enumerate(frames):
                Image.fromarray(np.asarray(frame)).save(Path(folder) / f"{index:05d}.jpg", quality=95)
            state = predictor.init_state(folder)
        else:
            # Our preprocessed frames, all loaded up front as init_state loads them.
            state = official_state(predictor, frames)
        height, width = frames.shape[1:]
        point = np.array([[PROMPT_XY[0] * width, PROMPT_XY[1] * height]], np.float32)
        predictor.add_new_points_or_box(state, 0, 1, points=point, labels=np.array([1], np.int32))
        areas = [int((logits[0, 0] > 0).sum()) for _, _, logits in predictor.propagate_in_video(state)]
    return timings(len(frames), wall, cpu, baseline, areas)


def timings(num_frames, wall_start, cpu_start, baseline_mb, areas) -> dict:
    return {
        "frames": num_frames,
        "wall_s_per_frame": (time.perf_counter() - wall_start) / num_frames,
        "cpu_s_per_frame": (time.process_time() - cpu_start) / num_frames,
        "baseline_rss_mb": baseline_mb,
        "peak_rss_mb": peak_rss_mb(),
        # Of the memory held at the end: the process's own, and the pages of files it has read
        # through a memory map (the stack), which the system can drop at any time.
        "anon_rss_mb": memory_status_mb("RssAnon") or float("nan"),
        "file_rss_mb": memory_status_mb("RssFile") or float("nan"),
        "mean_area": float(np.mean(areas)),
    }


def masks_file(stack_path: Path, side: str) -> Path:
    """Where an "ours" worker leaves its masks, bit-packed along the rows."""
    return stack_path.with_name(f"{stack_path.stem}_{side}_masks.npy")


def mask_agreement(stack_path: Path, width: int) -> list[float]:
    """IoU of ours-bf16's mask with ours' on each frame where either has the object."""
    masks = [np.unpackbits(np.load(masks_file(stack_path, side)), axis=-1, count=width).astype(bool) for side in ("ours", "ours-bf16")]
    union = (masks[0] | masks[1]).sum(axis=(1, 2))
    both = (masks[0] & masks[1]).sum(axis=(1, 2))
    return [float(b / u) for b, u in zip(both, union) if u]


def in_fresh_process(args, side: str, stack_path: Path, checkpoint: Path) -> dict:
    command = [sys.executable, __file__, "--worker", side, "--stack", str(stack_path), "--checkpoint", str(checkpoint)]
    command += ["--image-size", str(args.image_size), "--threads", str(args.threads)] + (["--real"] if args.real else [])
    command += ["--bf16"] if args.bf16 else []
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", action="store_true", help="the released SAM 2.1 tiny architecture (default: shrunk)")
    parser.add_argument("--image-size", type=int, help="model input side (default 256, or 1024 with --real)")
    parser.add_argument("--frames", type=int, nargs=2, default=(20, 200), metavar=("SHORT", "LONG"))
    parser.add_argument("--long", type=int, default=2000, help="frames of the very long stack (ours only; 0 to skip)")
    parser.add_argument("--frame-size", default="256x256", help="HxW of the stack's frames")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--bf16", action="store_true", help="also run ours with model.use_bfloat16, and compare its masks")
    parser.add_argument("--worker", choices=(*SIDES, "ours-bf16"), help=argparse.SUPPRESS)
    parser.add_argument("--stack", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.image_size = args.image_size or (1024 if args.real else 256)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")  # the official fill-holes step warns on every CPU frame

    if args.worker:
        if args.worker.startswith("ours"):
            bfloat16 = args.worker == "ours-bf16"
            masks_path = masks_file(args.stack, args.worker) if args.bf16 else None
            result = run_ours(args.checkpoint, args.stack, args.image_size, bfloat16, masks_path)
        else:
            result = run_official(args.checkpoint, args.stack, args.image_size, args.real, args.worker == "official-jpeg")
        print(json.dumps(result))
        return

    from official_v2 import save_official_checkpoint
    from official_v2_video import build_official_video_predictor

    height, width = (int(side) for side in args.frame_size.split("x"))
    short, long = args.frames
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        torch.manual_seed(0)
        checkpoint = folder / "sam2.1.pt"
        save_official_checkpoint(build_official_video_predictor(small=not args.real, image_size=args.image_size), checkpoint)
        results, agreement = {}, []
        sides = (*SIDES, "ours-bf16") if args.bf16 else SIDES
        for num_frames in sorted({short, long} | ({args.long} if args.long else set())):
            stack_path = folder / f"stack_{num_frames}.npy"
            make_stack(stack_path, num_frames, height, width)
            for side in sides:
                if side != "ours" and num_frames not in (short, long):
                    continue
                results[side, num_frames] = in_fresh_process(args, side, stack_path, checkpoint)
            if args.bf16 and num_frames == long:
                agreement = mask_agreement(stack_path, width)
            os.remove(stack_path)

    model = f"SAM 2.1 {'tiny' if args.real else 'shrunk tiny'}, {args.image_size}-pixel input"
    print(f"{model}, {height}x{width} uint8 frames, one object, CPU threads: {args.threads}, torch {torch.__version__}")
    print(
        f"{'side':<14}{'frames':>8}{'wall s/frame':>14}{'CPU s/frame':>13}{'peak RSS MB':>13}{'(at start)':>12}"
        f"{'end: anon MB':>14}{'file MB':>9}"
    )
    for (side, num_frames), result in sorted(results.items(), key=lambda item: (item[0][1], item[0][0])):
        print(
            f"{side:<14}{num_frames:>8}{result['wall_s_per_frame']:>14.3f}{result['cpu_s_per_frame']:>13.3f}"
            f"{result['peak_rss_mb']:>13.0f}{result['baseline_rss_mb']:>12.0f}"
            f"{result['anon_rss_mb']:>14.0f}{result['file_rss_mb']:>9.0f}"
        )
    for side in sides:
        ratio = results[side, long]["peak_rss_mb"] / results[side, short]["peak_rss_mb"]
        print(f"peak RSS {long} / {short} frames, {side}: {ratio:.2f}")
    for ours in sides[:1] + sides[3:]:
        for official in SIDES[1:]:
            for clock in ("wall", "cpu"):
                ratio = results[ours, long][f"{clock}_s_per_frame"] / results[official, long][f"{clock}_s_per_frame"]
                print(f"{clock} time per frame, {ours} / {official} ({long} frames): {ratio:.2f}")
    if args.bf16:
        print(
            f"masks of ours-bf16 against ours ({long} frames, {len(agreement)} with the object): "
            f"mean IoU {np.mean(agreement):.4f}, lowest {np.min(agreement):.4f}"
        )


if __name__ == "__main__":
    main()
