"""Makes ``segment-anything`` and ``sam2`` importable where the real torchvision is not.

Used by the test suite (``tests/conftest.py``) and the benchmarks: when torchvision cannot be
imported, this folder, which holds the stand-in, goes first on ``sys.path``.
"""

import importlib
import sys
from pathlib import Path


def real_torchvision_works() -> bool:
    try:
        importlib.import_module("torchvision")
    except Exception:  # noqa: BLE001 - a wheel built for CUDA torch raises RuntimeError, not ImportError
        sys.modules.pop("torchvision", None)
        return False
    return True


def activate() -> None:
    if not real_torchvision_works():
        sys.path.insert(0, str(Path(__file__).parent))
