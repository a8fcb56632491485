"""Keras' optional plotting imports, deferred to their first use.

``import keras`` (Keras 3) imports ``keras.src.visualization``, whose modules run
``import cv2`` and ``import matplotlib.pyplot`` at import time (inside ``try/except ImportError``)
although only Keras' plotting helpers (``keras.visualization.*``) use them. On a Xeon with shared
cores that is about 0.15 s for OpenCV and 0.3 s for pyplot (after matplotlib itself) of
``import mrcnn.model``'s 4 s, and mrcnn's inference and training need neither.

``install()`` (called by ``mrcnn/__init__.py`` before anything imports Keras) puts a module
object for each of ``DEFERRED`` that is installed and not imported yet into ``sys.modules``, made
from the module's own import spec but not executed: Keras' ``import`` then binds it without
running it, and the module's code runs, in that same object, on the first access to a name that
is not one of the import attributes (``__spec__``, ``__name__``, ``__path__``, ...), by whoever
makes it (Keras, mrcnn.visualize, the application). ``import cv2`` or ``import matplotlib.pyplot``
later returns that same object, which is the eagerly imported module once touched. (The standard
library's ``importlib.util.LazyLoader`` does not do here: on Python 3.11 the ``import`` statement
reads ``__spec__``, which makes it load at once.)

Nothing is deferred when Keras is already imported (its imports are done), when a module is
already imported or not installed, or when ``MRCNN_EAGER_IMPORTS=1`` is set in the environment.
There is no Matterport counterpart (Matterport's Keras 2 had no such imports).
"""

import importlib.util
import os
import sys
import threading
import types

# Top-level names first: "matplotlib.pyplot" needs its parent package (imported eagerly, since
# finding a submodule reads the parent's __path__).
DEFERRED = ("cv2", "matplotlib.pyplot")

_ENV = "MRCNN_EAGER_IMPORTS"
_LOCK = threading.RLock()


class _DeferredModule(types.ModuleType):
    """A module whose code runs on the first lookup of a name its namespace lacks."""

    def __getattr__(self, attr):
        # Reached only for names not in the namespace: the import attributes set by
        # module_from_spec are there, so `import` and `from ... import` of the module itself
        # do not load it.
        with _LOCK:
            if type(self) is _DeferredModule:
                spec = self.__spec__
                self.__class__ = types.ModuleType
                spec._initializing = True
                try:
                    spec.loader.exec_module(self)
                except BaseException:
                    sys.modules.pop(spec.name, None)
                    raise
                finally:
                    spec._initializing = False
        return getattr(self, attr)


def defer(name):
    """Puts a lazily executed module for ``name`` into ``sys.modules``.

    Args:
        name: str, a module name, e.g. ``"cv2"`` or ``"matplotlib.pyplot"``.

    Returns:
        bool: True when a lazy module was installed; False when ``name`` is already imported,
        is not installed, or its loader cannot be run lazily (then nothing changes).
    """
    if name in sys.modules:
        return False
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        return False
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _DeferredModule
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    return True


def install(environ=None):
    """Defers each module of ``DEFERRED`` (see the module docstring).

    Args:
        environ: mapping read for ``MRCNN_EAGER_IMPORTS`` (default ``os.environ``).

    Returns:
        tuple of str: the names deferred (empty when Keras is already imported or
        ``MRCNN_EAGER_IMPORTS=1``).
    """
    environ = os.environ if environ is None else environ
    if environ.get(_ENV, "0").strip() == "1" or "keras" in sys.modules:
        return ()
    return tuple(name for name in DEFERRED if defer(name))
