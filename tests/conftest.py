"""Shared test set-up: make the official reference packages importable.

`segment-anything` and `sam2` import torchvision at import time; its wheel on the package index
needs a CUDA build of torch. When the real torchvision cannot be imported, the stand-in in
``tests/reference_standins`` (torch + PIL re-implementations of the few functions they use) is
put on the path before any test imports them.
"""

import importlib
import sys
from pathlib import Path

STANDINS = Path(__file__).parent / "reference_standins"


def _real_torchvision_works() -> bool:
    try:
        importlib.import_module("torchvision")
    except Exception:  # noqa: BLE001 - a broken wheel raises RuntimeError, not ImportError
        sys.modules.pop("torchvision", None)
        return False
    return True


if not _real_torchvision_works():
    sys.path.insert(0, str(STANDINS))
