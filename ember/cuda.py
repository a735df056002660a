"""`ember.cuda`: what PyTorch code asks about the GPU (`ember.cuda.is_available()`).
A GPU is used through CuPy when it is installed and a device is present."""
from __future__ import annotations

from ember import backend


def is_available() -> bool:
    return backend.cuda_is_available()


def device_count() -> int:
    if not is_available():
        return 0
    return backend.cupy_module().cuda.runtime.getDeviceCount()


def manual_seed(seed: int) -> None:
    """Seeds are global in ember (`ember.manual_seed`); kept for PyTorch code."""


def manual_seed_all(seed: int) -> None:
    """Seeds are global in ember (`ember.manual_seed`); kept for PyTorch code."""
