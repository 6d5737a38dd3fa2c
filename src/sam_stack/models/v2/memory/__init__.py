"""SAM v2's video parts: the memory encoder and the memory-image fusion (official memory attention).

Both are standalone modules whose state-dict keys are the official ones under ``memory_encoder.``
and ``memory_attention.``. The memory bank itself is not a module: the caller keeps the memories
and object pointers, turns them into a token sequence with :mod:`.memory_sequence`, and hands
that to :class:`MemoryFusion` (see ``DESIGN.md``).
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
from .memory_sequence import object_pointer_tokens, sine_encoding_1d, spatial_memory_tokens
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
    "object_pointer_tokens",
    "rotate",
    "sine_encoding_1d",
    "spatial_memory_tokens",
]
