"""mrcnn.lazy_imports: Keras' OpenCV and pyplot imports deferred to their first use, in fresh
interpreters (the deferral only applies before Keras is imported)."""

import json
import os
import subprocess
import sys

from tests.paths import DATA_DIR, REPO_ROOT

PHOTO = DATA_DIR / "matterport_demo_images" / "images" / "12283150_12d37e6389_z.jpg"

_PROBE = r"""
import json, sys
import mrcnn.model
state = {n: type(sys.modules[n]).__name__ for n in ("cv2", "matplotlib.pyplot")}
import cv2
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import keras
same = cv2 is sys.modules["cv2"] and plt is sys.modules["matplotlib.pyplot"] and \
    matplotlib.pyplot is plt
image = cv2.imread(sys.argv[1])
small = cv2.resize(image, (50, 40))
fig = plt.figure(figsize=(2, 2))
fig.add_subplot(1, 1, 1).imshow(small[..., ::-1])
fig.canvas.draw()
print(json.dumps({"before": state, "after": type(cv2).__name__, "same": same,
                  "shape": list(image.shape), "small": list(small.shape),
                  "canvas": list(fig.canvas.get_width_height()),
                  "gallery": callable(keras.visualization.plot_image_gallery)}))
"""


def _probe(eager):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), MRCNN_EAGER_IMPORTS=eager)
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(PHOTO)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_keras_plotting_imports_deferred_then_work():
    result = _probe("0")
    # After `import mrcnn.model` neither module has run; both are the usual modules once used.
    assert result["before"] == {"cv2": "_DeferredModule", "matplotlib.pyplot": "_DeferredModule"}
    assert result["after"] == "module"
    assert result["same"] is True
    assert result["shape"] == [375, 500, 3]
    assert result["small"] == [40, 50, 3]
    assert result["canvas"] == [200, 200]
    assert result["gallery"] is True


def test_eager_imports_opt_out():
    result = _probe("1")
    assert result["before"] == {"cv2": "module", "matplotlib.pyplot": "module"}
    assert result["same"] is True and result["small"] == [40, 50, 3]


def test_defer_leaves_imported_and_missing_modules_alone():
    from mrcnn import lazy_imports
    assert lazy_imports.defer("json") is False  # already imported: unchanged
    assert sys.modules["json"] is json
    assert lazy_imports.defer("no_such_module_for_mrcnn") is False
    assert "no_such_module_for_mrcnn" not in sys.modules
    # Keras is imported in this process (by the other tests' conftest): nothing is deferred.
    import keras  # noqa: F401
    assert lazy_imports.install({}) == ()
    assert lazy_imports.install({"MRCNN_EAGER_IMPORTS": "1"}) == ()
