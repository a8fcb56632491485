"""Runs an exported SavedModel in a process where mrcnn cannot be imported (used by
tests/export/test_export*.py; run as ``python -I export_child.py SAVED_MODEL INPUTS.npz OUT.npz
[SIGNATURE,...]`` from a folder outside the repository, PYTHONPATH unset; by default both
signatures run).

mrcnn is made unimportable for the whole run (also through an editable or regular install), and
the run checks that no mrcnn module got loaded: serving needs nothing but TensorFlow.

INPUTS.npz holds ``image_<i>`` uint8 arrays and ``encoded_<i>`` file bytes (uint8). OUT.npz gets,
for each signature run, ``<signature>_<i>_<output>`` arrays (``serving_default`` one image per
call; ``serve_encoded`` all images in one call, index ``i`` in the batch), plus
``signatures.json`` (the input and output specs, as a JSON string in ``signatures``).
"""

import importlib.abc
import json
import sys


class _NoMrcnn(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "mrcnn" or name.startswith("mrcnn."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: serving must not "
                                      "need mrcnn)", name=name)
        return None


sys.meta_path.insert(0, _NoMrcnn())


def main(saved_model, inputs_path, out_path, run="serving_default,serve_encoded"):
    run = run.split(",")
    try:
        import mrcnn  # noqa: F401
    except ModuleNotFoundError:
        pass
    else:
        raise SystemExit("mrcnn is importable in the child process")
    import numpy as np
    import tensorflow as tf

    inputs = np.load(inputs_path)
    n = len([k for k in inputs.files if k.startswith("image_")])
    model = tf.saved_model.load(saved_model)
    out = {}
    specs = {}
    for name, fn in model.signatures.items():
        specs[name] = {
            "inputs": {k: [str(v.dtype.name), v.shape.as_list()]
                       for k, v in fn.structured_input_signature[1].items()},
            "outputs": {k: [str(v.dtype.name), v.shape.as_list()]
                        for k, v in fn.structured_outputs.items()},
        }
    serve = model.signatures["serving_default"]
    for i in range(n if "serving_default" in run else 0):
        result = serve(images=tf.constant(inputs[f"image_{i}"][np.newaxis]))
        for k, v in result.items():
            out[f"serving_default_{i}_{k}"] = v.numpy()[0]
    if "serve_encoded" in run:
        encoded = [inputs[f"encoded_{i}"].tobytes() for i in range(n)]
        result = model.signatures["serve_encoded"](encoded=tf.constant(encoded))
        for k, v in result.items():
            for i in range(n):
                out[f"serve_encoded_{i}_{k}"] = v.numpy()[i]
    loaded = sorted(m for m in sys.modules if m == "mrcnn" or m.startswith("mrcnn."))
    if loaded:
        raise SystemExit(f"mrcnn modules were loaded: {loaded}")
    out["signatures"] = np.array(json.dumps(specs))
    np.savez(out_path, **out)


if __name__ == "__main__":
    main(*sys.argv[1:5])
