"""Tearing the training input pipeline down when ``fit()`` raises, so that a failed run exits.

Why: ``build_dataset``'s parallel map runs ``TrainingExampleLoader`` through
``tf.numpy_function``, i.e. Python on ``tf.data`` threads. When ``fit()`` raises (a loader error,
the NaN stop, a ``KeyboardInterrupt``), Keras' epoch iterators stay referenced by the local
variables of ``fit()``'s frames in the exception's traceback (and the validation one by the model
itself). An uncaught exception keeps its traceback alive until the interpreter finalizes
(``sys.last_traceback``); the iterator's destructor (``IteratorResource`` ->
``ParallelMapDatasetOp::Dataset::Iterator::~Iterator``) then waits for its in-flight map calls,
which need an interpreter that is shutting down and never run again: the process stays alive at
0 % CPU after printing the error (the class of hang of TensorFlow issues #21277 and #22632).

The fix: before the exception leaves ``train()``, drop every reference to the iterators (clear
the finished frames of the traceback and their callers, drop the model's validation iterator)
and collect, so
that the iterators are destroyed here, while the interpreter is fully alive: the destructor of
an eager tensor releases the GIL, the in-flight calls finish (they see the same error or
produce an example that nobody reads) and the destructor returns. The exception then
propagates with its message and traceback (file names and line numbers; the locals of the
frames below ``train()`` are gone, which only a post-mortem debugger would notice).
"""

import gc

__all__ = ["release_input_pipeline"]


def _chain(exc):
    """``exc`` and the exceptions it was raised from or during (``__cause__``/``__context__``)."""
    seen = []
    while exc is not None and not any(exc is e for e in seen):
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _clear_finished_frames(tb):
    """Clears the locals of every finished frame of ``tb`` and of the frames they were called
    from. Keras filters its own frames out of a traceback (``filter_traceback``), but a frame
    still references its caller (``f_back``), so the frames of ``fit()`` that hold the iterator
    are reachable from the exception without being in ``traceback.clear_frames``' walk."""
    while tb is not None:
        frame = tb.tb_frame
        while frame is not None:
            try:
                frame.clear()
            except RuntimeError:  # still executing: train() and its callers
                break
            frame = frame.f_back
        tb = tb.tb_next


def release_input_pipeline(exc, keras_model=None):
    """Destroys the ``tf.data`` iterators that ``exc``'s traceback (and ``keras_model``) keep
    alive, now, instead of at interpreter exit where their destructor deadlocks.

    Args:
        exc: the exception raised by ``keras_model.fit(...)`` (any ``BaseException``).
        keras_model: the model ``fit`` ran on, or None; its validation epoch iterator (which
            Keras keeps on the model until ``fit`` ends normally) is dropped.

    Frames still executing (``train()`` itself and its callers) are left as they are; only
    finished frames (those of ``fit`` and below) lose their local variables.
    """
    for e in _chain(exc):
        _clear_finished_frames(e.__traceback__)
    if keras_model is not None and getattr(keras_model, "_eval_epoch_iterator", None) is not None:
        # Keras 3 deletes this attribute only when fit() returns normally.
        keras_model._eval_epoch_iterator = None
    gc.collect()
