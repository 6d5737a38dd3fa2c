"""How fast the models run (seed 000's speed table): image encoding at 1024 and 512 pixels, mask
decoding, and peak GPU memory; beside them, where the official package is installed, the
official predictor on the same weights and the ratio ours / official (below 1: ours is faster).

Catalog names are timed on random weights written in the official file format and loaded as a
user's file is (nothing is downloaded: speed does not depend on the values); any other source is
a checkpoint file, timed as it is. The image is a random 1024 x 1024 RGB one, the prompt one
point at its centre. Official packages are imported only here, and only when installed; their
predictors are listed in ``OFFICIAL_PREDICTORS`` by model version.
"""

import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .models import load_model
from .models.catalog import CATALOG, resolve
from .models.checkpoint import read_checkpoint
from .models.v1.architecture import OFFICIAL_SIZES as V1_SIZES
from .models.v1.sam_v1 import SamV1
from .models.v2.architecture import OFFICIAL_SIZES as V2_SIZES
from .models.v2.model_architecture import official_architecture
from .models.v2.sam_v2 import SamV2

# The released models' input side. v1 models encode at this side only (their position embedding
# is made for its 64 x 64 grid); v2 models take others through ``model.input_size``.
DEFAULT_SIDE = 1024
ENCODE_SIDES = (DEFAULT_SIDE, 512)
# Decoding takes milliseconds, so it is run this many times more often for a steady median.
DECODE_REPEAT_FACTOR = 10


@dataclass
class Timings:
    """Median seconds and peak bytes of one model; None where not measured."""

    name: str
    version: str
    size: str
    parameters: int
    encode_s: dict[int, float | None]
    decode_s: float
    peak_memory: dict[int, int | None]
    official_encode_s: float | None = None
    official_decode_s: float | None = None


@dataclass
class OfficialPredictor:
    """An official predictor's two steps: encode(image), then decode((x, y)) on that image."""

    encode: Callable
    decode: Callable


def benchmark(source: str, device: torch.device, repeats: int = 3, official: bool = True) -> Timings:
    """Times catalog model or checkpoint file ``source`` on ``device``.

    official: also time the official predictor when its package is installed.
    """
    image = np.random.default_rng(0).integers(0, 256, (DEFAULT_SIDE, DEFAULT_SIDE, 3), dtype=np.uint8)
    point = (DEFAULT_SIDE / 2, DEFAULT_SIDE / 2)
    if device.type == "cuda":
        torch.cuda.empty_cache()
    with tempfile.TemporaryDirectory() as folder:
        path = write_random_checkpoint(source, Path(folder)) if source in CATALOG else resolve(source)
        model = load_model(path, device=device)
        # Before the official model is built, so that its weights do not count in the memory.
        encode_s, peak_memory = _alone(model, image, repeats, device)
        theirs = _official_predictor(model, path, device) if official else None
    encoding = model.encode_image(image)
    encode_steps = [lambda: model.encode_image(image)]
    decode_steps = [lambda: model.predict(encoding, points=[point])]
    if theirs is not None:
        encode_steps.append(lambda: theirs.encode(image))
        decode_steps.append(lambda: theirs.decode(point))
    with torch.inference_mode():
        encodes = paired_medians(encode_steps, repeats, device)
        decodes = paired_medians(decode_steps, DECODE_REPEAT_FACTOR * repeats, device)
    return Timings(
        name=source if source in CATALOG else Path(source).name,
        version=model.version,
        size=model.size,
        parameters=sum(parameter.numel() for parameter in model.network.parameters()),
        encode_s={**encode_s, DEFAULT_SIDE: encodes[0]},
        decode_s=decodes[0],
        peak_memory=peak_memory,
        official_encode_s=encodes[1] if theirs else None,
        official_decode_s=decodes[1] if theirs else None,
    )


def write_random_checkpoint(name: str, folder: Path) -> Path:
    """Random weights for catalog model ``name`` with the official tensor names, in the official
    file layout (v1: a raw state dict; v2 / v2.1: ``{"model": state dict}``), as
    ``folder / <official file name>``."""
    entry = CATALOG[name]
    path = folder / entry.file_name
    if entry.version == "v1":
        torch.save(SamV1(V1_SIZES[entry.size]).state_dict(), path)
    else:
        network = SamV2(official_architecture(entry.version, V2_SIZES[entry.size]))
        torch.save({"model": network.state_dict()}, path)
    return path


def paired_medians(functions: list[Callable], repeats: int, device: torch.device) -> list[float]:
    """Median wall seconds of each function over ``repeats`` calls, after one warm-up call each.
    The functions take turns, so that a machine busy with other work slows them alike."""
    for function in functions:
        function()
    times = [[] for _ in functions]
    for _ in range(repeats):
        for function, record in zip(functions, times):
            _synchronize(device)
            start = time.perf_counter()
            function()
            _synchronize(device)
            record.append(time.perf_counter() - start)
    return [statistics.median(record) for record in times]


def describe_setup(device: torch.device, repeats: int) -> str:
    """One line naming the machine and the settings, to go with the table."""
    if device.type == "cuda":
        machine = f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    else:
        machine = f"{_cpu_name()}, {torch.get_num_threads()} threads"
    return f"{machine}; torch {torch.__version__}, float32; median of {repeats} runs after a warm-up"


def table_header() -> str:
    """The head of the Markdown table that :func:`table_row` fills."""
    columns = [
        "model",
        "parameters",
        *(f"encode {side}" for side in ENCODE_SIDES),
        "decode",
        f"official encode {DEFAULT_SIDE}",
        "ours / official",
        "official decode",
        "ours / official",
        *(f"GPU memory {side}" for side in ENCODE_SIDES),
    ]
    return "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns)


def table_row(timings: Timings) -> str:
    """The timings as a Markdown table row ("-": not measured)."""
    t = timings
    cells = [
        f"{t.name} ({t.version} {t.size})",
        f"{t.parameters / 1e6:.1f} M",
        *(_milliseconds(t.encode_s[side]) for side in ENCODE_SIDES),
        _milliseconds(t.decode_s),
        _milliseconds(t.official_encode_s),
        _ratio(t.encode_s[DEFAULT_SIDE], t.official_encode_s),
        _milliseconds(t.official_decode_s),
        _ratio(t.decode_s, t.official_decode_s),
        *(_gigabytes(t.peak_memory[side]) for side in ENCODE_SIDES),
    ]
    return "| " + " | ".join(cells) + " |"


def _official_predictor(model, path: Path, device: torch.device) -> OfficialPredictor | None:
    make = OFFICIAL_PREDICTORS.get(model.version)
    if make is None:
        return None
    try:
        return make(model, path, device)
    except ImportError:  # the official package (or the torchvision it imports) is not installed
        return None


def _official_v1(model, path: Path, device: torch.device) -> OfficialPredictor:
    from segment_anything import SamPredictor
    from segment_anything.build_sam import _build_sam

    arch = model.network.arch
    sam = _build_sam(
        encoder_embed_dim=arch.embed_dim,
        encoder_depth=arch.depth,
        encoder_num_heads=arch.num_heads,
        encoder_global_attn_indexes=list(arch.global_attn_indexes),
    )
    sam.load_state_dict(read_checkpoint(path).state_dict)
    predictor = SamPredictor(sam.eval().to(device))
    return OfficialPredictor(
        encode=predictor.set_image,
        decode=lambda xy: predictor.predict(point_coords=np.array([xy]), point_labels=np.array([1])),
    )


# The released configurations in the official sam2 package, by (version, size).
SAM2_CONFIGS = {
    ("v2", "tiny"): "configs/sam2/sam2_hiera_t.yaml",
    ("v2", "small"): "configs/sam2/sam2_hiera_s.yaml",
    ("v2", "base_plus"): "configs/sam2/sam2_hiera_b+.yaml",
    ("v2", "large"): "configs/sam2/sam2_hiera_l.yaml",
    ("v2.1", "tiny"): "configs/sam2.1/sam2.1_hiera_t.yaml",
    ("v2.1", "small"): "configs/sam2.1/sam2.1_hiera_s.yaml",
    ("v2.1", "base_plus"): "configs/sam2.1/sam2.1_hiera_b+.yaml",
    ("v2.1", "large"): "configs/sam2.1/sam2.1_hiera_l.yaml",
}


def _official_v2(model, path: Path, device: torch.device) -> OfficialPredictor | None:
    from sam2.build_sam import build_sam2
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    config = SAM2_CONFIGS.get((model.version, model.size))
    if config is None:
        return None  # a custom size, whose official configuration is unknown
    predictor = SAM2ImagePredictor(build_sam2(config, ckpt_path=str(path), device=str(device)))
    return OfficialPredictor(
        encode=predictor.set_image,
        decode=lambda xy: predictor.predict(point_coords=np.array([xy]), point_labels=np.array([1])),
    )


# Model version -> a function building the official predictor on the same weights (or None).
OFFICIAL_PREDICTORS = {"v1": _official_v1, "v2": _official_v2, "v2.1": _official_v2}


def _alone(model, image: np.ndarray, repeats: int, device: torch.device) -> tuple[dict, dict]:
    """Peak memory at each side, and encoding times at the sides other than the default (which
    is timed alongside the official predictor); None where the model cannot take the side.
    Leaves the model at the default side."""
    encode_s, peak_memory = {}, {}
    for side in ENCODE_SIDES:
        if not _set_input_side(model, side):
            encode_s[side] = peak_memory[side] = None
            continue
        peak_memory[side] = _peak_memory(lambda: model.encode_image(image), device)
        if side != DEFAULT_SIDE:
            (encode_s[side],) = paired_medians([lambda: model.encode_image(image)], repeats, device)
    _set_input_side(model, DEFAULT_SIDE)
    return encode_s, peak_memory


def _set_input_side(model, side: int) -> bool:
    """Makes the model encode at side x side; False if it cannot (v1 models at other than 1024)."""
    if hasattr(model, "input_size"):
        model.input_size = side
        return True
    return side == DEFAULT_SIDE


def _peak_memory(function: Callable, device: torch.device) -> int | None:
    """Peak bytes allocated by torch on a CUDA device while ``function`` runs (weights included)."""
    if device.type != "cuda":
        return None
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    function()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device)


def _synchronize(device: torch.device) -> None:
    # GPU work runs asynchronously: without waiting for it, a timer would stop too early.
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _milliseconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    milliseconds = seconds * 1e3
    return f"{milliseconds:.0f} ms" if milliseconds >= 100 else f"{milliseconds:.1f} ms"


def _ratio(ours: float | None, official: float | None) -> str:
    return "-" if ours is None or official is None else f"{ours / official:.2f}"


def _gigabytes(num_bytes: int | None) -> str:
    return "-" if num_bytes is None else f"{num_bytes / 1e9:.2f} GB"
