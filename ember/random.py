"""Random number generators: `ember.manual_seed(s)` makes a run repeatable bit for bit.

Every random draw in ember (initialisation, dropout, shuffling, random tensors) comes from
a `Generator` (a NumPy PCG64 stream): the default one unless a generator is passed.
"""
from __future__ import annotations

import json
import secrets

import numpy as np

# PyTorch's default CPU seed: like PyTorch, an unseeded program is still repeatable.
DEFAULT_SEED = 67280421310721


class Generator:
    """A seedable stream of random numbers (NumPy's PCG64), like `torch.Generator`.

    Example:
        >>> g = ember.Generator().manual_seed(0)
        >>> ember.rand(2, generator=g)      # the same two numbers on every run
    """

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed) % 2 ** 64   # negative seeds wrap around, as in PyTorch
        self._initial_seed = seed
        self.numpy = np.random.Generator(np.random.PCG64(seed))
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        seed = secrets.randbits(63)
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._initial_seed

    def get_state(self):
        """The generator's state as a uint8 tensor (saveable in a checkpoint)."""
        from ember.tensor import Tensor

        payload = {"initial_seed": self._initial_seed, "state": self.numpy.bit_generator.state}
        return Tensor._make(np.frombuffer(json.dumps(payload).encode(), dtype=np.uint8).copy())

    def set_state(self, state) -> Generator:
        """Restore a state returned by `get_state`."""
        array = np.asarray(getattr(state, "_data", state), dtype=np.uint8)
        try:
            payload = json.loads(array.tobytes().decode())
            bit_generator = np.random.PCG64()
            bit_generator.state = payload["state"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"set_state: not a generator state made by get_state ({exc})") \
                from None
        self._initial_seed = int(payload["initial_seed"])
        self.numpy = np.random.Generator(bit_generator)
        return self


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator: everything random after this repeats exactly."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)


def numpy_generator(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator to draw from: the given one's, or the default's."""
    return (generator or default_generator).numpy
