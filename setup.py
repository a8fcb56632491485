"""mrcnn: Mask R-CNN for TensorFlow 2 / Keras 3, a drop-in successor to Matterport's Mask_RCNN."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_version():
    """``__version__`` of mrcnn/__init__.py, the one place the version is written (read as
    text: importing mrcnn here would need its dependencies)."""
    text = (HERE / "mrcnn" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    if match is None:
        raise RuntimeError("mrcnn/__init__.py has no line __version__ = \"...\"")
    return match.group(1)


def read_requirements(name):
    lines = (HERE / name).read_text().splitlines()
    return [line.strip() for line in lines
            if line.strip() and not line.startswith("#") and not line.startswith("-r")]


setup(
    name="mrcnn",
    version=read_version(),
    description="Mask R-CNN for object detection and instance segmentation on TensorFlow 2 / "
                "Keras 3, compatible with Matterport's Mask_RCNN",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["mrcnn", "mrcnn.*"]),
    python_requires=">=3.10",
    install_requires=read_requirements("requirements.txt"),
    # imgaug is not offered as an extra: it fails to import on NumPy 2 (see README).
    # onnx: --format onnx (tf2onnx converts, ONNX Runtime checks and runs the model).
    extras_require={"dev": read_requirements("requirements-dev.txt")
                    + read_requirements("requirements-onnx.txt"),
                    "onnx": read_requirements("requirements-onnx.txt")},
    entry_points={"console_scripts": ["mrcnn=mrcnn.cli:main"]},
    license="MIT",
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Image Recognition",
    ],
)
