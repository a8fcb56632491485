"""mrcnn.distribute.choose_strategy / parse_tf_config in-process: what runs without TF_CONFIG,
clear errors for GPU_COUNT above the visible GPUs and for a malformed TF_CONFIG. (TF_CONFIG set
-> MultiWorkerMirroredStrategy needs its own process: tests/distribute/test_multi_worker.py.)"""

import json

import pytest
import tensorflow as tf

from mrcnn import distribute
from mrcnn.config import Config

TWO_WORKERS = {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
               "task": {"type": "worker", "index": 1}}


def make_config(gpu_count):
    class C(Config):
        NAME = "choice"
        NUM_CLASSES = 2
        GPU_COUNT = gpu_count
    return C()


def test_without_tf_config_one_gpu_count_is_the_default_strategy(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.parse_tf_config() is None
    strategy = distribute.choose_strategy(make_config(1))
    assert strategy is tf.distribute.get_strategy()
    assert strategy.num_replicas_in_sync == 1
    assert not distribute.is_multi_worker(strategy) and distribute.is_chief(strategy)
    assert distribute.global_batch_size(make_config(1), strategy) == 2  # IMAGES_PER_GPU
    # An empty TF_CONFIG counts as unset.
    monkeypatch.setenv("TF_CONFIG", "  ")
    assert distribute.parse_tf_config() is None
    assert distribute.choose_strategy(make_config(1)) is tf.distribute.get_strategy()


def test_an_explicit_strategy_wins_over_tf_config(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps(TWO_WORKERS))
    mine = tf.distribute.OneDeviceStrategy("/cpu:0")
    assert distribute.choose_strategy(make_config(4), mine) is mine
    with pytest.raises(ValueError, match="strategy must be a tf.distribute.Strategy, not str"):
        distribute.choose_strategy(make_config(1), "mirrored")


def test_tf_config_set_is_parsed(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps(TWO_WORKERS))
    spec = distribute.parse_tf_config()
    assert spec["cluster"]["worker"] == TWO_WORKERS["cluster"]["worker"]
    assert spec["task"] == {"type": "worker", "index": 1}


def test_gpu_count_above_the_visible_gpus_names_both_counts(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    visible = len(tf.config.list_logical_devices("GPU"))
    wanted = visible + 2
    with pytest.raises(ValueError) as error:
        distribute.choose_strategy(make_config(wanted))
    message = str(error.value)
    assert f"GPU_COUNT = {wanted}" in message and f"sees {visible} GPU(s)" in message
    assert "CUDA_VISIBLE_DEVICES" in message  # and how to fix it


@pytest.mark.parametrize("text, problem", [
    ("{not json", "TF_CONFIG is not valid JSON"),
    (json.dumps({"cluster": {"worker": ["h:1"]}}), "needs a \"cluster\" and a \"task\""),
    (json.dumps({"cluster": {"worker": ["h:1"]}, "task": {"type": "worker", "index": 3}}),
     "does not name a task of the cluster"),
    (json.dumps({"cluster": {"worker": ["h:1"]}, "task": {"type": "chief", "index": 0}}),
     "does not name a task of the cluster"),
])
def test_malformed_tf_config_is_a_clear_error_before_any_strategy(monkeypatch, text, problem):
    monkeypatch.setenv("TF_CONFIG", text)
    with pytest.raises(ValueError, match="expected e.g.") as error:
        distribute.choose_strategy(make_config(1))
    assert problem in str(error.value)


@pytest.mark.parametrize("value", ["0", "-3", "soon"])
def test_a_bad_collective_timeout_is_a_clear_error(monkeypatch, value):
    # Raised before the MultiWorkerMirroredStrategy is created (which would start a server).
    monkeypatch.setenv("TF_CONFIG", json.dumps(TWO_WORKERS))
    monkeypatch.setenv(distribute.COLLECTIVE_TIMEOUT_ENV, value)
    with pytest.raises(ValueError, match=f"{distribute.COLLECTIVE_TIMEOUT_ENV} = '{value}': "
                                         "must be a number of seconds > 0"):
        distribute.choose_strategy(make_config(1))
