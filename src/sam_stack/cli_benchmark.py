"""`sam-stack benchmark`: seed 000's speed table, ours beside the official predictors."""

import argparse

from .benchmarking import benchmark, describe_setup, table_header, table_row
from .models import resolve_device
from .models.catalog import CATALOG

# The models of seed 000's table: the smallest and a large v1, the smallest and largest v2.
DEFAULT_MODELS = ("sam-vit-b", "sam-vit-l", "sam2.1-hiera-tiny", "sam2.1-hiera-large")

DESCRIPTION = """\
Times image encoding (at 1024 and 512 pixels), mask decoding (one point) and, on a GPU, peak
memory, per model, and prints a Markdown table with the machine named above it ("--models all":
every catalog model). Catalog names are
timed on random weights in the official file format (nothing is downloaded); files are timed as
they are. Where the official package of a model's version is installed, its predictor is timed
on the same weights, alternating with ours, and the ratio ours / official is shown (below 1:
ours is faster). v1 models encode at 1024 only. The numbers are medians after a warm-up run."""


def register(subparsers) -> None:
    parser = subparsers.add_parser("benchmark", help="time encoding and decoding per model", description=DESCRIPTION)
    parser.add_argument(
        "--models", nargs="+", default=list(DEFAULT_MODELS), metavar="NAME_OR_FILE",
        help=f"catalog names or checkpoint files, or all (every catalog model; default: {' '.join(DEFAULT_MODELS)})",
    )
    parser.add_argument("--device", default="auto", help='"auto" (the default: CUDA, then MPS, then CPU), "cpu", "cuda"...')
    parser.add_argument("--repeats", type=_positive_int, default=3, help="timed runs per step (default: 3)")
    parser.add_argument("--no-official", action="store_true", help="do not time the official predictors")
    parser.set_defaults(run=run)


def run(args) -> int:
    device = resolve_device(args.device)
    print(describe_setup(device, args.repeats))
    print(table_header(), flush=True)
    for source in list(CATALOG) if args.models == ["all"] else args.models:
        print(table_row(benchmark(source, device, args.repeats, official=not args.no_official)), flush=True)
    return 0


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"found {text!r}; expected a whole number of at least 1")
    return int(text)
