"""imgaug's ``HooksImages`` (and ``HooksHeatmaps``): callbacks that switch augmenters on/off.

``activator(images, augmenter, parents, default) -> bool`` decides whether ``augmenter`` runs;
``propagator(...)`` whether a meta augmenter runs its children; ``preprocessor(images,
augmenter, parents)`` / ``postprocessor(...)`` may change the images before/after. ``images``
is a ``[1, H, W, C]`` array (one image at a time). Matterport's ``load_image_gt`` used an
activator to augment masks with geometric augmenters only.
"""

__all__ = ["HooksImages", "HooksHeatmaps"]


class HooksImages:
    """Hooks for image augmentation (imgaug's ``imgaug.HooksImages``)."""

    def __init__(self, activator=None, propagator=None, preprocessor=None, postprocessor=None):
        self.activator = activator
        self.propagator = propagator
        self.preprocessor = preprocessor
        self.postprocessor = postprocessor

    def is_activated(self, images, augmenter, parents, default):
        """Whether ``augmenter`` is applied (``default`` without an activator)."""
        return default if self.activator is None else \
            self.activator(images, augmenter, parents, default)

    def is_propagating(self, images, augmenter, parents, default):
        """Whether ``augmenter`` runs its children (``default`` without a propagator)."""
        return default if self.propagator is None else \
            self.propagator(images, augmenter, parents, default)

    def preprocess(self, images, augmenter, parents):
        """The images before ``augmenter`` runs."""
        return images if self.preprocessor is None else \
            self.preprocessor(images, augmenter, parents)

    def postprocess(self, images, augmenter, parents):
        """The images after ``augmenter`` ran."""
        return images if self.postprocessor is None else \
            self.postprocessor(images, augmenter, parents)


class HooksHeatmaps(HooksImages):
    """imgaug's heatmap hooks (same interface)."""
