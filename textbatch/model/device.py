"""Where tensors run. CUDA (with mixed precision and pinned memory) when present, else CPU.

The CUDA branches are GPU-only and are not exercised on CPU-only machines; everything else
falls back to plain float32 on the CPU.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch


def select_device(preferred: str = "auto") -> torch.device:
    if preferred == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preferred)


def autocast(device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """float16 autocast on CUDA (GPU-only); a no-op on CPU, where float32 is faster."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def grad_scaler(device: torch.device) -> torch.amp.GradScaler:
    """Loss scaling for float16 training on CUDA (GPU-only); disabled (a pass-through) on CPU."""
    return torch.amp.GradScaler("cuda", enabled=device.type == "cuda")


def to_device(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Pinned, asynchronous host-to-GPU copies on CUDA (GPU-only); unchanged on CPU."""
    if device.type == "cuda":
        return batch.pin_memory().to(device, non_blocking=True)
    return batch
