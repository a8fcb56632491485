"""A quiet TensorFlow start-up when ``mrcnn`` is imported before TensorFlow.

On a machine without a CUDA driver, ``import tensorflow`` and its first device query print
notices that ``TF_CPP_MIN_LOG_LEVEL`` does not reach, because TensorFlow's C++ libraries log them
through Abseil before they read that variable::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1796282500.706428    5339 port.cc:153] oneDNN custom operations are on. ...
    I0000 00:00:1796282500.706895    5339 cudart_stub.cc:31] Could not find cuda drivers on ...
    E0000 00:00:1796282502.105341    5339 cuda_platform.cc:52] failed call to cuInit: INTERNAL:
        CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)

(the cuInit "error" only says that no driver library was found: code 303, the stub's
``CUDA_ERROR_SHARED_OBJECT_INIT_FAILED``). ``install()`` (called by ``mrcnn/__init__.py``) puts an
import hook in ``sys.meta_path`` that runs the first ``import tensorflow`` (whoever imports it:
mrcnn, Keras or the application) and ``tf.config.list_physical_devices()`` (where cuInit runs)
with the process's stderr (file descriptor 2) passed through ``is_noise``. What it drops:

* Abseil's "All log messages before absl::InitializeLog()" banner;
* TensorFlow log lines below ``TF_CPP_MIN_LOG_LEVEL`` (0 INFO, 1 WARNING, 2 ERROR, 3 FATAL;
  mrcnn sets 2 unless it is set), the rule TensorFlow applies to the lines it does filter;
  FATAL lines are always kept;
* the cuInit failure with code 303 (no driver library).

Everything else passes unchanged, in order: errors, Python warnings, tracebacks. With
``TF_CPP_MIN_LOG_LEVEL=0``, ``TF_CPP_MAX_VLOG_LEVEL`` or ``TF_CPP_VMODULE`` set nothing is filtered.
The filter runs in a small helper process (this file run as a script) reading a pipe, so that a
line written just before a crash (e.g. TensorFlow's FATAL message on a CPU without AVX) still
reaches the terminal and a flood of output cannot block the import. If TensorFlow is imported
before mrcnn, nothing here applies (its start-up is over).
"""

import contextlib
import importlib.abc
import os
import re
import subprocess
import sys

_BANNER = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# Abseil's prefix (TF >= 2.19: "I0000 00:00:1796282500.706428    5339 port.cc:153] ") and
# TSL's older one ("2025-09-17 14:44:05.157831: I external/.../cudart_stub.cc:32] ").
_ABSL_LINE = re.compile(rb"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\]\s]+:\d+\] ")
_TSL_LINE = re.compile(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: ([IWEF]) [^\]\s]+:\d+\] ")
_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}
_WAIT_S = 10  # seconds to wait for the helper to forward what is left, at the end


def min_log_level(environ=None):
    """``TF_CPP_MIN_LOG_LEVEL`` as TensorFlow reads it: 0..3, anything else 0."""
    value = (os.environ if environ is None else environ).get("TF_CPP_MIN_LOG_LEVEL", "0")
    return int(value) if value.strip() in ("0", "1", "2", "3") else 0


def is_noise(line, min_level):
    """Whether one stderr line (bytes, without the newline) is a start-up notice to drop.

    Args:
        line: bytes.
        min_level: ``TF_CPP_MIN_LOG_LEVEL`` (int 0..3).

    Returns:
        bool: True for Abseil's pre-initialisation banner, a TensorFlow log line of a severity
        below ``min_level`` (never a FATAL one), and, when ``min_level`` >= 1, the "failed call
        to cuInit" line of a machine without a CUDA driver (code 303). False for any other line.
    """
    line = line.rstrip(b"\r")
    if line == _BANNER:
        return True
    match = _ABSL_LINE.match(line) or _TSL_LINE.match(line)
    if not match:
        return False
    severity = _SEVERITY[match.group(1)]
    if severity == 3:
        return False
    if severity < min_level:
        return True
    return min_level >= 1 and b"failed call to cuInit" in line and b"(303)" in line


def _filter_enabled(environ=None):
    environ = os.environ if environ is None else environ
    return (min_log_level(environ) > 0 and not environ.get("TF_CPP_MAX_VLOG_LEVEL")
            and not environ.get("TF_CPP_VMODULE"))


@contextlib.contextmanager
def filtered_stderr(min_level):
    """Passes everything written to file descriptor 2 inside the block through ``is_noise``.

    Lines are forwarded as they come by a helper process (``python -I -S`` running this file);
    at the end the descriptor is restored and the helper's remaining output awaited (at most
    ``_WAIT_S`` seconds: a child process of the block that keeps the pipe open cannot make it
    hang). If descriptor 2 or the helper is not available, the block runs unfiltered.
    """
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass
    helper_script = os.path.abspath(__file__)
    if not sys.executable or not os.path.isfile(helper_script):  # frozen or zipped: no helper
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    helper = None
    pipe = ()
    try:
        pipe = os.pipe()
        helper = subprocess.Popen([sys.executable, "-I", "-S", helper_script, str(min_level)],
                                  stdin=pipe[0], stdout=saved, stderr=saved)
        os.dup2(pipe[1], 2)
    except (OSError, ValueError, subprocess.SubprocessError):
        if helper is not None:
            helper.kill()
            helper = None
    finally:
        for fd in pipe:  # the helper has the read end, descriptor 2 the write end
            os.close(fd)
    if helper is None:
        os.close(saved)
        yield
        return
    try:
        yield
    finally:
        try:
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):
            pass
        os.dup2(saved, 2)  # the pipe's last write end closes: the helper reads to the end
        os.close(saved)
        try:
            helper.wait(_WAIT_S)
        except subprocess.TimeoutExpired:
            pass  # it goes on forwarding until the pipe closes, then exits


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader of ``tensorflow`` and the first device query inside
    ``filtered_stderr``."""

    def __init__(self, loader, min_level):
        self._loader = loader
        self._min_level = min_level

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        uninstall()
        try:
            with filtered_stderr(self._min_level):
                self._loader.exec_module(module)
                # cuInit runs (and fails without a CUDA driver) in the first device query;
                # listing physical devices does not initialise the runtime, so
                # tf.config.set_visible_devices and set_memory_growth still work.
                with contextlib.suppress(Exception):
                    module.config.list_physical_devices()
        finally:  # the module keeps the real loader
            if getattr(module, "__loader__", None) is self:
                module.__loader__ = self._loader
            spec = getattr(module, "__spec__", None)
            if spec is not None and spec.loader is self:
                spec.loader = self._loader

    def __getattr__(self, name):  # get_resource_reader, is_package, ... of the real loader
        return getattr(self._loader, name)


class _TensorFlowImportHook(importlib.abc.MetaPathFinder):
    """``sys.meta_path`` entry that gives the ``tensorflow`` package a ``_QuietLoader``."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or not _filter_enabled():
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and not isinstance(spec.loader, _QuietLoader):
                    spec.loader = _QuietLoader(spec.loader, min_log_level())
                return spec
        return None


_HOOK = _TensorFlowImportHook()


def install():
    """Adds the import hook, unless TensorFlow is already imported (then its start-up is
    over) or the hook is already there. Returns whether the hook is installed."""
    if "tensorflow" in sys.modules:
        return False
    if _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)
    return True


def uninstall():
    """Removes the import hook (done by the first ``import tensorflow``)."""
    with contextlib.suppress(ValueError):
        sys.meta_path.remove(_HOOK)


def _forward(min_level, source=0, sink=1):
    """The helper's loop: copies lines from ``source`` to ``sink`` except the noise."""
    pending = b""
    while True:
        chunk = os.read(source, 1 << 16)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        kept = b"".join(line + b"\n" for line in lines if not is_noise(line, min_level))
        while kept:
            kept = kept[os.write(sink, kept):]
    if pending and not is_noise(pending, min_level):
        while pending:
            pending = pending[os.write(sink, pending):]


if __name__ == "__main__":
    _forward(int(sys.argv[1]))
