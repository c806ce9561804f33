"""The GPU code paths fall back cleanly on CPU; the CUDA-only test needs the hardware."""

from __future__ import annotations

import pytest
import torch

from textbatch.model.device import autocast, grad_scaler, select_device, to_device

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="hardware: needs a CUDA GPU")


def test_auto_selects_cpu_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device().type == "cpu"


def test_cpu_runs_plain_float32() -> None:
    cpu = torch.device("cpu")
    with autocast(cpu):
        out = torch.ones(2, 2) @ torch.ones(2, 2)
    assert out.dtype == torch.float32
    assert not grad_scaler(cpu).is_enabled()
    batch = torch.arange(4)
    assert to_device(batch, cpu) is batch


@pytest.mark.gpu
@needs_cuda
def test_cuda_uses_half_precision_and_pinned_copies() -> None:
    cuda = torch.device("cuda")
    assert select_device().type == "cuda"
    with autocast(cuda):
        out = torch.ones(2, 2, device=cuda) @ torch.ones(2, 2, device=cuda)
    assert out.dtype == torch.float16
    assert grad_scaler(cuda).is_enabled()
    assert to_device(torch.arange(4), cuda).device.type == "cuda"
