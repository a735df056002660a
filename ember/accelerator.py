"""`ember.accelerator`, as PyTorch code asks it: is there a device other than the CPU?
(ember uses a CUDA GPU through CuPy when one is present.)"""
from __future__ import annotations

from ember import backend


def is_available() -> bool:
    return backend.cuda_is_available()


def current_accelerator():
    """The accelerator device, or None when there is only the CPU."""
    return backend.device("cuda") if is_available() else None


def device_count() -> int:
    return backend.cupy_module().cuda.runtime.getDeviceCount() if is_available() else 0
