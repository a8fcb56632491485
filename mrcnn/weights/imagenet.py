"""ImageNet weights for the ResNet50 and ResNet101 backbones (Matterport
``MaskRCNN.get_imagenet_weights``, which only had ResNet50).

* ResNet50: the file Matterport used (``RESNET50_IMAGENET_URL``, fchollet's deep-learning-models
  release), whose layer names are already the backbone's (``conv1``, ``bn_conv1``,
  ``res2a_branch2a``, ...): returned as downloaded.
* ResNet101: Keras Applications' ``resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5``
  (``RESNET101_IMAGENET_URL``). The same Caffe-style network (stride 2 on the first 1x1 of each
  stage's first block, biases on every convolution, the shortcut convolution of the first block
  only) with Keras Applications' layer names (``conv1_conv``, ``conv1_bn``,
  ``conv4_block23_3_conv``, ``conv4_block1_0_bn``, ...). It is converted once into a file with the
  backbone's names (``res4w_branch2c``, ``bn4a_branch1``, ...; ``resnet101_imagenet_mrcnn.h5``
  next to the download) that ``load_weights(path, by_name=True)`` reads like Matterport's file,
  so stage 4 is no longer left random (upstream issues #352, #725, #1389).

Name mapping (``keras_applications_name_to_mrcnn``): ``conv1_conv`` -> ``conv1``, ``conv1_bn``
-> ``bn_conv1``; ``conv{S}_block{B}_{K}_{conv|bn}`` -> ``res{S}{L}_branch{X}`` /
``bn{S}{L}_branch{X}`` with the block letter ``L = "abc..."[B - 1]`` (``a`` .. ``w`` for the 23
blocks of stage 4, as ``mrcnn.backbone`` names them) and ``X`` = ``1`` for K = 0 (shortcut),
``2a``, ``2b``, ``2c`` for K = 1, 2, 3. Weights keep their order (kernel, bias; gamma, beta,
moving mean, moving variance). The only difference the mapping cannot carry is the BatchNorm
epsilon (Keras Applications 1.001e-5, the backbone 1e-3), negligible with ImageNet variances.

No Keras import: files are read and written with h5py (``mrcnn.weights.keras2_layout``).
"""

import os
import re

from mrcnn.weights.file_check import WeightFileError
from mrcnn.weights.keras2_layout import (
    _dataset,
    _file_layers,
    _read_array,
    _WeightFile,
    write_matterport_layout,
)

RESNET50_IMAGENET_URL = ("https://github.com/fchollet/deep-learning-models/releases/download/"
                         "v0.2/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")
RESNET101_IMAGENET_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
                          "resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5")
#: md5 of the files (Matterport's ``get_file`` hash; Keras Applications' ``WEIGHTS_HASHES``).
IMAGENET_MD5 = {"resnet50": "a268eb855778b3df3c7506639542a6af",
                "resnet101": "88cf7a10940856eca736dc7b7e228a21"}
IMAGENET_URLS = {"resnet50": RESNET50_IMAGENET_URL, "resnet101": RESNET101_IMAGENET_URL}
#: The converted ResNet101 file (backbone names), written next to the download.
RESNET101_CONVERTED_FILENAME = "resnet101_imagenet_mrcnn.h5"

_BLOCK_RE = re.compile(r"^conv([2-5])_block(\d+)_([0-3])_(conv|bn)$")
_BRANCH = {"0": "1", "1": "2a", "2": "2b", "3": "2c"}


def keras_applications_name_to_mrcnn(name):
    """The backbone layer name of a Keras Applications ResNet (v1) layer, or None for a layer
    without a counterpart (``input_1``, ``conv1_pad``, ``*_relu``, ``*_add``, ``*_out``, ...).

    Examples: ``conv1_conv`` -> ``conv1``; ``conv1_bn`` -> ``bn_conv1``;
    ``conv2_block1_0_conv`` -> ``res2a_branch1``; ``conv4_block23_3_bn`` -> ``bn4w_branch2c``.
    """
    if name == "conv1_conv":
        return "conv1"
    if name == "conv1_bn":
        return "bn_conv1"
    m = _BLOCK_RE.match(name)
    if not m:
        return None
    stage, block, k, kind = m.groups()
    block = int(block)
    if not 1 <= block <= 26:
        return None
    letter = chr(ord("a") + block - 1)
    prefix = "res" if kind == "conv" else "bn"
    return f"{prefix}{stage}{letter}_branch{_BRANCH[k]}"


def convert_keras_applications_resnet(source, target):
    """Writes ``target``: the weights of a Keras Applications ResNet (v1) file under the
    backbone's layer names, in the Keras 2 layout (``write_matterport_layout``, atomic).

    Args:
        source: a Keras Applications ResNet50/101/152 (v1) weights file, Keras 2 HDF5 layout
            (``resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5``).
        target: the file to write.

    Returns:
        the number of layers written.

    Raises:
        mrcnn.weights.WeightFileError: ``source`` is not a Keras 2 weight file, or holds no
            Keras Applications ResNet layer (e.g. it is already in the backbone's names, or a
            v2 / other network's file).
    """
    source = os.fspath(source)
    by_layer = {}
    with _WeightFile(source) as group:
        for name, weight_names in _file_layers(group, source):
            new = keras_applications_name_to_mrcnn(name)
            if new is None or not weight_names:
                continue
            by_layer[new] = [(f"{new}/{w.rsplit('/', 1)[-1]}",
                              _read_array(_dataset(group, name, w, source)).copy())
                             for w in weight_names]
    if "conv1" not in by_layer or not any(n.startswith("res5") for n in by_layer):
        raise WeightFileError(
            f"{source!r} holds no Keras Applications ResNet layers (conv1_conv, "
            "conv2_block1_1_conv, ..., conv5_block3_3_bn); give the file of "
            f"keras.applications.ResNet101 ({RESNET101_IMAGENET_URL}).")
    write_matterport_layout(target, list(by_layer), by_layer)
    return len(by_layer)


def get_imagenet_weights(backbone="resnet101", cache_dir=None, url=None):
    """Path of the ImageNet weights of a backbone in the backbone's layer names, downloading
    (and for ResNet101 converting) them the first time.

    Args:
        backbone: ``"resnet50"`` or ``"resnet101"`` (``Config.BACKBONE``).
        cache_dir: where the files are kept; default ``mrcnn.download.default_cache_dir()``
            (``$MRCNN_HOME`` or ``~/.cache/mrcnn``).
        url: the file to download instead of ``IMAGENET_URLS[backbone]`` (a mirror).

    Returns:
        str: a Keras 2 HDF5 file to load with ``model.load_weights(path, by_name=True)``: every
        layer of the backbone (``conv1`` .. ``res5c_branch2c``, ``bn*``) and nothing else.

    Raises:
        ValueError: another backbone (a callable: load its own weights).
        mrcnn.download.DownloadError: the download failed (no partial file is left).
        mrcnn.weights.WeightFileError: the downloaded ResNet101 file is not the expected one.
    """
    from mrcnn import download

    if backbone not in IMAGENET_URLS:
        raise ValueError(f"ImageNet weights exist for BACKBONE 'resnet50' and 'resnet101', not "
                         f"{backbone!r}; load a custom backbone's weights yourself")
    cache_dir = os.fspath(cache_dir) if cache_dir is not None else download.default_cache_dir()
    url = url or IMAGENET_URLS[backbone]
    path = os.path.join(cache_dir, os.path.basename(IMAGENET_URLS[backbone]))
    if backbone == "resnet101":
        converted = os.path.join(cache_dir, RESNET101_CONVERTED_FILENAME)
        if os.path.isfile(converted):
            return converted
    if not os.path.isfile(path):
        download.download_file(url, path, desc=f"ImageNet {backbone} weights")
    if backbone == "resnet50":
        return path
    convert_keras_applications_resnet(path, converted)
    return converted
