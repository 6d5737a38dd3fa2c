"""Whether a device runs bfloat16 arithmetic natively, and so whether the bfloat16 option
(``model.use_bfloat16``) is worth taking there.

On a CPU, bfloat16 matrix products run in hardware only with the AVX-512 BF16 or AMX
instructions (recent Intel Xeons, AMD Zen 4 and later); elsewhere PyTorch converts to float32 and
back, which is slower than float32 itself. On these machines (AVX-512 BF16) the SAM 2 encoders run
2.1-2.9x faster and tracking 2.2x faster (README, "bfloat16"). CUDA GPUs since Ampere have it;
Apple's MPS is left out, as its autocast support for bfloat16 depends on the macOS version.
"""

import torch


def bfloat16_is_fast(device: torch.device | str) -> bool:
    """True when ``device`` computes in bfloat16 natively (see the module docstring)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        capabilities = torch.cpu.get_capabilities()
        return bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))
    return False
