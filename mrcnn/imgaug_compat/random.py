"""Random state of ``mrcnn.imgaug_compat``: the global generator behind ``imgaug.seed(n)``.

Mirrors ``imgaug.random`` (``seed``, ``get_global_rng``) with NumPy ``Generator`` objects. As in
imgaug 0.4.0, the global generator is created on first use from a seed drawn from NumPy's legacy
global state (so ``np.random.seed(n)`` before the first augmentation also makes runs repeatable),
and ``seed(n)`` replaces it, which affects every augmenter that was created without its own
``seed``/``random_state``.

The random numbers are NumPy ``PCG64`` streams, not imgaug's: the same seed gives repeatable
compat draws, not imgaug's exact draws (only their distributions match, see the tests).
"""

import threading

import numpy as np

__all__ = ["seed", "get_global_rng", "as_generator", "generator_from_seed", "draw_seed",
           "SEED_MIN_VALUE", "SEED_MAX_VALUE"]

SEED_MIN_VALUE = 0
SEED_MAX_VALUE = 2 ** 31 - 1  # imgaug's seed range

_lock = threading.Lock()
_global = None


def generator_from_seed(value):
    """A fresh ``np.random.Generator`` (PCG64) for a non-negative integer seed."""
    return np.random.Generator(np.random.PCG64(int(value)))


def get_global_rng():
    """The global generator used by augmenters without their own seed (created on first use)."""
    global _global
    if _global is None:
        with _lock:
            if _global is None:
                _global = generator_from_seed(np.random.randint(SEED_MIN_VALUE, SEED_MAX_VALUE))
    return _global


def seed(entropy):
    """Seeds the global generator: ``imgaug.seed(n)`` / ``imgaug.random.seed(n)``.

    Args:
        entropy: int >= 0.

    Raises:
        TypeError: ``entropy`` is not an integer.
        ValueError: ``entropy`` is negative.
    """
    global _global
    if isinstance(entropy, (bool, np.bool_)) or not isinstance(entropy, (int, np.integer)):
        raise TypeError(f"imgaug_compat.seed() expects an int, got {type(entropy).__name__}")
    if entropy < 0:
        raise ValueError(f"imgaug_compat.seed() expects an int >= 0, got {entropy}")
    with _lock:
        _global = generator_from_seed(entropy)


def draw_seed(rng):
    """A seed for a derived generator, drawn from ``rng``."""
    return int(rng.integers(0, 2 ** 63 - 1))


def as_generator(random_state):
    """Converts what imgaug accepts as ``seed``/``random_state`` into a ``np.random.Generator``.

    Args:
        random_state: None (the global generator), an int seed, a ``np.random.Generator``
            (used as is), a ``BitGenerator``, a ``SeedSequence`` or a legacy
            ``np.random.RandomState`` (a seed is drawn from it).

    Raises:
        TypeError: any other type.
    """
    if random_state is None:
        return get_global_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, (bool, np.bool_)):
        raise TypeError("seed/random_state must be None, an int or a NumPy random generator, "
                        "got a bool")
    if isinstance(random_state, (int, np.integer)):
        if random_state < 0:
            raise ValueError(f"seed must be >= 0, got {random_state}")
        return generator_from_seed(random_state)
    if isinstance(random_state, (np.random.BitGenerator, np.random.SeedSequence)):
        return np.random.Generator(random_state if isinstance(random_state, np.random.BitGenerator)
                                   else np.random.PCG64(random_state))
    if isinstance(random_state, np.random.RandomState):
        return generator_from_seed(random_state.randint(SEED_MIN_VALUE, SEED_MAX_VALUE))
    raise TypeError(f"seed/random_state must be None, an int, a np.random.Generator, BitGenerator, "
                    f"SeedSequence or RandomState; got {type(random_state).__name__}")
