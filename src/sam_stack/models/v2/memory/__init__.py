"""SAM v2's video parts: the memory encoder and the memory-image fusion (official memory attention).

Both are standalone modules whose state-dict keys are the official ones under ``memory_encoder.``
and ``memory_attention.``. The memory bank itself is not a module: the caller keeps the memories
and object pointers and hands them to :class:`MemoryFusion` (see ``DESIGN.md``).
"""

from .architecture import (
    OFFICIAL_MEMORY,
    MemoryArchitecture,
    MemoryEncoderArchitecture,
    MemoryFusionArchitecture,
    memory_architecture_from_state_dict,
)
from .memory_encoder import MemoryEncoder
from .memory_fusion import MemoryFusion, MemoryFusionLayer
from .new_memory import add_no_object_embedding, encode_new_memory, mask_logits_to_memory_input
from .rotary import AxialRotaryEncoding, rotate
from .rotary_attention import RotaryAttention

__all__ = [
    "OFFICIAL_MEMORY",
    "AxialRotaryEncoding",
    "MemoryArchitecture",
    "MemoryEncoder",
    "MemoryEncoderArchitecture",
    "MemoryFusion",
    "MemoryFusionArchitecture",
    "MemoryFusionLayer",
    "RotaryAttention",
    "add_no_object_embedding",
    "encode_new_memory",
    "mask_logits_to_memory_input",
    "memory_architecture_from_state_dict",
    "rotate",
]
