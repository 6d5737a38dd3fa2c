"""Shared test set-up: make the official reference packages importable.

`segment-anything` and `sam2` import torchvision at import time; its wheel on the package index
needs a CUDA build of torch. When the real torchvision cannot be imported, the stand-in in
``tests/reference_standins`` (torch + PIL re-implementations of the few functions they use) is
put on the path before any test imports them.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "reference_standins"))
from activate import activate  # noqa: E402

sys.path.pop(0)
activate()
