"""Ctrl-C pressed twice, and the Jupyter interrupt button, during ``train()`` (issue 13, item 4).

The first SIGINT only asks ``train()`` to stop after the step (``mrcnn.signals``); a second one
raises ``KeyboardInterrupt`` at once. In a Jupyter kernel the interrupt button sends SIGINT to
the kernel's main thread: ``train()`` finishes the step, writes the backup and raises
``KeyboardInterrupt`` in the cell, and the kernel lives on."""

import glob
import os
import queue
import signal
import time

import pytest
from jupyter_client.manager import start_new_kernel

from mrcnn.signals import StopOnSignal
from tests.model.test_train_failures import run_child
from tests.paths import REPO_ROOT

LIMIT_S = 600


def test_stop_on_signal_records_the_first_and_raises_on_the_second_ctrl_c():
    before = signal.getsignal(signal.SIGINT)
    with StopOnSignal() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.signum == signal.SIGTERM
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs at the next bytecode boundary
    assert stop.signum == signal.SIGTERM  # the first signal is the one reported
    assert signal.getsignal(signal.SIGINT) is before  # the handlers are put back


def test_ctrl_c_twice_exits_at_once_without_a_new_backup(tmp_path):
    r = run_child(tmp_path, "--seed", "1", "--steps", "6", "--backup-every", "2",
                  "--signal-at", "3", "--signal", "INT2")
    # An uncaught KeyboardInterrupt ends Python by re-raising SIGINT: -2 (130 from a shell).
    assert r.returncode in (-2, 130), (r.returncode, r.stderr[-3000:])
    assert "KeyboardInterrupt" in r.stderr
    assert "Training stopped by signal" not in r.stdout  # not the one-signal path
    assert "TRAINING FINISHED" not in r.stdout


def run_cell(km, kc, code, until=None, timeout=LIMIT_S):
    """Executes ``code``; returns (reply content, stdout text). With ``until``, interrupts the
    kernel once that text has appeared on stdout."""
    msg_id = kc.execute(code)
    out, interrupted, deadline = [], False, time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, "the cell did not finish (hang?):\n" + "".join(out)
        try:
            msg = kc.get_iopub_msg(timeout=5)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
            if until and not interrupted and until in "".join(out):
                km.interrupt_kernel()
                interrupted = True
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    return kc.get_shell_msg(timeout=60)["content"], "".join(out)


def test_the_jupyter_interrupt_button_stops_train_cleanly_and_the_kernel_lives_on(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO_ROOT))
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)
    try:
        model_dir = tmp_path / "logs"
        reply, out = run_cell(km, kc, (
            "from tests.model import train_child\n"
            f"train_child.main([{str(model_dir)!r}, '--seed', '1', '--steps', '40', "
            "'--backup-every', '1000', '--print-steps'])\n"), until="STEP 2")
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", reply
        assert "Training stopped by signal 2 after the step backup" in out, out[-3000:]
        assert "STEP 40" not in out and "TRAINING FINISHED" not in out
        assert glob.glob(str(model_dir / "child*" / "backup_child.npz"))
        reply, out = run_cell(km, kc, "print('ALIVE', 6 * 7)\n", timeout=60)
        assert reply["status"] == "ok" and "ALIVE 42" in out
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
