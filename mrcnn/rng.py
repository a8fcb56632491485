"""The ``rng`` argument of the training-data functions: an optional ``np.random.Generator``."""

import numpy as np


def as_generator(rng):
    """``rng`` itself, or a fresh ``np.random.default_rng()`` when it is None.

    Args:
        rng: None or a ``np.random.Generator``.

    Returns:
        A ``np.random.Generator``.

    Raises:
        TypeError: ``rng`` is something else (e.g. a legacy ``RandomState`` or an int seed).
    """
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")
    return rng
