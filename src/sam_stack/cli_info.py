"""`sam-stack info CHECKPOINT`: what a model file holds, read from its tensors."""

from collections import Counter

from .models import load_model
from .models.catalog import resolve
from .models.checkpoint import read_checkpoint

DESCRIPTION = """\
Describes a model file: the SAM version and size (read from the weights, never from the file
name), the number of parameters by part of the network, and how the file stores them. CHECKPOINT
is an official .pth / .pt file, a file written by model.save, or a catalog name (see
`sam-stack download`), which is downloaded first if it is not in the cache."""


def register(subparsers) -> None:
    parser = subparsers.add_parser("info", help="describe a checkpoint: version, size, parameters", description=DESCRIPTION)
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint file or a catalog name")
    parser.set_defaults(run=run)


def run(args) -> int:
    path = resolve(args.checkpoint)
    checkpoint = read_checkpoint(path)
    model = load_model(path, device="cpu")
    parameters = dict(model.network.named_parameters())
    by_part = Counter()
    for name, tensor in parameters.items():
        by_part[name.split(".")[0]] += tensor.numel()
    dtypes = Counter(str(tensor.dtype).removeprefix("torch.") for tensor in checkpoint.state_dict.values())
    if checkpoint.metadata is None:
        holds = "weights only, as in the official checkpoints (the architecture is read from the tensor shapes)"
    else:
        holds = f"weights and architecture, written by sam_stack's model.save (format {checkpoint.metadata.get('format')})"
    lines = {
        "file": f"{path} ({path.stat().st_size / 2**20:.1f} MiB)",
        "model": f"SAM {model.version}, size {model.size}",
        "parameters": f"{sum(by_part.values()):,} ({_millions(sum(by_part.values()))})",
        "by part": ", ".join(f"{part} {_millions(count)}" for part, count in by_part.items()),
        "holds": holds,
        "tensors": f"{len(checkpoint.state_dict)} ({', '.join(f'{count} {dtype}' for dtype, count in dtypes.items())})",
    }
    for label, text in lines.items():
        print(f"{label + ':':<12}{text}")
    return 0


def _millions(count: int) -> str:
    return f"{count / 1e6:.1f} M" if count >= 100_000 else f"{count / 1e3:.1f} k"
