"""Matterport's ``config=`` convenience for the layers: fills explicit constructor arguments.

Every layer in ``mrcnn.layers`` takes its settings as explicit plain arguments and stores only
those in ``get_config``. Matterport's layers took a ``Config`` instead (``DetectionLayer(config)``,
``DetectionTargetLayer(config)``, ``ProposalLayer(count, threshold, config=config)``), and user
code still builds them that way; :func:`fill_from_config` turns such a ``config`` into the
explicit arguments that were not given, and nothing of the ``config`` is kept.
"""

from collections.abc import Mapping

import numpy as np


def fill_from_config(layer, config, args):
    """Fills the explicit arguments left ``None`` from a Matterport ``config``.

    Args:
        layer: the layer's class name, for messages.
        config: None, a ``Config`` (any object with the attributes) or a mapping of
            ``Config`` attribute names to values (the layout ``DetectionTargetLayer.get_config``
            stored before it stored explicit arguments).
        args: dict ``argument name -> (value, Config attribute name)``; a value that is not None
            wins over the ``config``.

    Returns:
        dict ``argument name -> value``, every value not None.

    Raises:
        ValueError: an argument is None and there is no ``config`` to fill it, or the ``config``
            lacks its attribute.
    """
    values = {}
    for arg, (value, attr) in args.items():
        if value is None and config is not None:
            if isinstance(config, Mapping):
                value = config.get(attr)
            else:
                value = getattr(config, attr, None)
        if value is None:
            source = ("" if config is None
                      else f"; the config given ({type(config).__name__}) has no {attr}")
            raise ValueError(f"{layer} needs {arg}= (Config.{attr}): pass it explicitly or pass "
                             f"config=<a mrcnn Config>{source}")
        values[arg] = value
    return values


def float_list(values, length, layer, arg):
    """``values`` as a list of ``length`` Python floats (JSON-serialisable).

    Raises:
        ValueError: ``values`` does not hold exactly ``length`` numbers.
    """
    flat = np.reshape(np.asarray(values, dtype=np.float64), [-1])
    if flat.size != length:
        raise ValueError(f"{layer}: {arg} must have {length} values, got {flat.size} "
                         f"({values!r})")
    return [float(v) for v in flat]


def int_list(values, length, layer, arg):
    """``values`` as a list of ``length`` Python ints (JSON-serialisable).

    Raises:
        ValueError: ``values`` does not hold exactly ``length`` numbers.
    """
    flat = np.reshape(np.asarray(values), [-1])
    if flat.size != length:
        raise ValueError(f"{layer}: {arg} must have {length} values, got {flat.size} "
                         f"({values!r})")
    return [int(v) for v in flat]
