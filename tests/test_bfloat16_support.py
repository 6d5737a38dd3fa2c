"""Which devices the napari panel turns bfloat16 on for by default."""

import torch

from sam_stack.models import bfloat16_is_fast


def test_a_cpu_is_fast_in_bfloat16_only_with_native_instructions(monkeypatch):
    for flags, fast in (({"avx512_bf16": True}, True), ({"amx_bf16": True}, True), ({"avx512_f": True}, False), ({}, False)):
        monkeypatch.setattr(torch.cpu, "get_capabilities", lambda flags=flags: flags)
        assert bfloat16_is_fast("cpu") is fast


def test_devices_without_a_check_are_not_fast():
    assert bfloat16_is_fast("meta") is False
    assert bfloat16_is_fast(torch.device("mps")) is False
