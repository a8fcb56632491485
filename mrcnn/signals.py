"""SIGTERM / SIGINT during ``train()``: finish the current step, write the step backup, exit with
128 + the signal's number (not in Matterport, where SIGTERM killed the run with nothing saved).

``StopOnSignal`` is a context manager that ``train()`` installs around ``fit`` when it runs in
the main thread (Python lets only the main thread own signal handlers): the first SIGTERM or
SIGINT only records the signal; ``mrcnn.backup.BackupCallback`` sees it at the end of the step,
writes the backup and stops. A second SIGINT (Ctrl-C twice) raises ``KeyboardInterrupt`` at
once. In another thread nothing is installed and Ctrl-C stays a ``KeyboardInterrupt`` (which
``train()`` handles by shutting the input pipeline down, ``mrcnn.pipeline_teardown``). In a
Jupyter kernel the interrupt button sends SIGINT to the kernel's main thread, so it takes the
same path; ``train()`` then raises ``KeyboardInterrupt`` instead of exiting the kernel.
"""

import signal
import threading

__all__ = ["StopOnSignal", "STOP_SIGNALS"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopOnSignal:
    """Records the first SIGTERM/SIGINT in ``signum`` (None until then) while active."""

    def __init__(self, signals=STOP_SIGNALS):
        self.signals = tuple(signals)
        self.signum = None
        self._previous = {}

    def _handle(self, signum, frame):
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: stop at once
        if self.signum is None:
            self.signum = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for s in self.signals:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc):
        for s, handler in self._previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}
        return False
