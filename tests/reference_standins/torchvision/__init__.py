"""A stand-in for the few torchvision functions that `segment-anything` and `sam2` import.

The torchvision wheel on the package index needs a CUDA build of torch and fails to import
beside the CPU build these machines use, yet both reference packages import it at import time.
This module reproduces, with torch and PIL only, the behaviour of the functions they call
(torchvision 0.17 or newer): resizing PIL images and tensors, normalisation, conversion to
tensors, and box non-maximum suppression. It is used by the tests and the benchmarks only when
the real torchvision cannot be imported; it is never installed with the package.
"""

from . import ops, transforms

__version__ = "0.0.0+sam-stack-standin"
