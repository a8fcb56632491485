"""imgaug's ``Augmenter`` base class and meta augmenters: ``Sequential``, ``SomeOf``, ``OneOf``,
``Sometimes``, ``Identity`` / ``Noop`` (mirrors ``imgaug.augmenters.meta``).

Calling an augmenter
--------------------
* imgaug's API: ``aug(image=img)``, ``aug(images=[...])``, ``aug.augment_image(img)``,
  ``aug.augment_images(imgs)``, ``aug.augment(image=img, segmentation_maps=segmap)`` (returns
  ``(image, segmap)``), ``aug.augment_segmentation_maps(...)``, ``aug.to_deterministic()``,
  ``aug.seed_(n)``, ``hooks=imgaug.HooksImages(activator=...)``. Images are ``[H, W]`` or
  ``[H, W, C]`` NumPy arrays (uint8 for colour augmenters; geometric augmenters also take
  uint16 and float32); segmentation maps are ``SegmentationMapsOnImage`` objects or integer /
  bool arrays ``[H, W]`` / ``[H, W, C]``.
* mrcnn's augmentation protocol: ``aug(image, mask, rng=None) -> (image, mask)`` with ``mask``
  bool ``[H, W, N]`` (one channel per instance). This is what ``mrcnn.augmentation.augment``
  calls (the compat augmenters are plain callables to it), so
  ``model.train(..., augmentation=iaa.Sequential([...]))`` works as in Matterport.

Geometric augmenters move the masks / segmentation maps exactly as the image, with
nearest-neighbour interpolation and constant-0 padding (imgaug's rule for segmentation maps);
colour augmenters leave them alone. The pixel work is done by albumentations transforms (their
``apply`` methods with the parameters drawn here by imgaug's rules).

Random numbers
--------------
Each call draws from one generator: the ``rng`` passed by ``mrcnn.augmentation.augment`` (so
training draws are repeatable and thread-safe), else the augmenter's own ``seed`` /
``random_state``, else the global generator (``imgaug.seed(n)``). Every child augmenter of a meta
augmenter gets its own stream derived from its parent's, so that a ``to_deterministic()`` copy
replays exactly the same transformation for an image and, in a second call, for its masks, even
when hooks switch some children off or per-channel draws depend on the number of channels.
A ``seed`` given to a child is used when that child is called itself; inside a parent, the
parent's stream decides (imgaug would keep the child's own stream there).
"""

import copy

import numpy as np

from mrcnn.imgaug_compat import parameters as iap
from mrcnn.imgaug_compat.random import (as_generator, draw_seed, generator_from_seed,
                                        get_global_rng)

__all__ = ["Augmenter", "Sequential", "SomeOf", "OneOf", "Sometimes", "Identity", "Noop",
           "handle_children_list"]

_SEED_HIGH = 2 ** 63 - 1


def _child_seeds(rng, n):
    return rng.integers(0, _SEED_HIGH, size=n) if n else ()


class _Call:
    """What one augmentation call shares between its images: the hooks, and the child order
    of ``random_order`` meta augmenters (imgaug draws it once per batch)."""

    __slots__ = ("hooks", "orders")

    def __init__(self, hooks):
        self.hooks = hooks
        self.orders = {}

    def order(self, aug, rng):
        perm = rng.permutation(len(aug))
        return self.orders.setdefault(id(aug), perm)


class Augmenter:
    """Base class of the compat augmenters (imgaug's ``imgaug.augmenters.meta.Augmenter``).

    Args:
        seed: None, an int, or a NumPy random generator: this augmenter's own random stream when
            it is called directly (None: the global generator seeded by ``imgaug.seed``).
        name: a name (default ``"Unnamed<ClassName>"``), as in imgaug.
        random_state: imgaug's deprecated alias of ``seed``.
        deterministic: imgaug's deprecated flag: True makes every call draw the same random
            values (what ``to_deterministic()`` returns).

    Raises:
        ValueError: both ``seed`` and ``random_state`` given.
        TypeError: ``deterministic`` is not a bool; ``seed`` of an unsupported type.
    """

    #: True for augmenters that move pixels: masks and segmentation maps follow them.
    geometric = False

    def __init__(self, seed=None, name=None, random_state="deprecated",
                 deterministic="deprecated"):
        if not (isinstance(random_state, str) and random_state == "deprecated"):
            if seed is not None:
                raise ValueError(f"{type(self).__name__}: give seed= or random_state= "
                                 "(deprecated), not both")
            seed = random_state
        if isinstance(deterministic, str) and deterministic == "deprecated":
            deterministic = False
        if not isinstance(deterministic, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__}: deterministic must be True or False, got "
                            f"{deterministic!r}")
        self.name = name if name is not None else f"Unnamed{type(self).__name__}"
        self.random_state = None if seed is None else as_generator(seed)
        self.deterministic = bool(deterministic)
        self._deterministic_seed = None
        if self.deterministic:
            self._deterministic_seed = draw_seed(self._own_or_global_rng())

    # ----------------------------------------------------------------------------------------
    # random streams
    def _own_or_global_rng(self):
        return self.random_state if self.random_state is not None else get_global_rng()

    def _call_rng(self, rng):
        if self.deterministic:
            return generator_from_seed(self._deterministic_seed)
        if rng is not None:
            return as_generator(rng)
        return self._own_or_global_rng()

    def _run_child(self, child, image, masks, seed, call, parents):
        rng = generator_from_seed(child._deterministic_seed if child.deterministic else seed)
        return child._run(image, masks, rng, call, parents)

    # ----------------------------------------------------------------------------------------
    # execution
    def _run(self, image, masks, rng, call, parents):
        """Applies this augmenter (honouring hooks) to one ``[H, W, C]`` image and optional
        ``[H, W, N]`` uint8/uint16 masks; returns ``(image, masks)``."""
        hooks = call.hooks
        if hooks is not None:
            batch = image[np.newaxis]
            if not hooks.is_activated(batch, augmenter=self, parents=parents, default=True):
                return image, masks
            image = np.asarray(hooks.preprocess(batch, augmenter=self, parents=parents))[0]
        image, masks = self._augment_one(image, masks, rng, call, parents)
        if hooks is not None:
            image = np.asarray(hooks.postprocess(image[np.newaxis], augmenter=self,
                                                 parents=parents))[0]
        return image, masks

    def _augment_one(self, image, masks, rng, call, parents):  # pragma: no cover - abstract
        raise NotImplementedError

    def _augment_many(self, images, masks, rng=None, hooks=None, parents=None):
        root = self._call_rng(rng)
        call = _Call(hooks)
        parents = list(parents or [])
        n = len(images)
        seeds = None if n == 1 else _child_seeds(root, n)
        out_images, out_masks = [], []
        for i, image in enumerate(images):
            image = _as_image(image, self)
            squeeze = image.ndim == 2
            if squeeze:
                image = image[:, :, np.newaxis]
            m = None if masks is None else masks[i]
            if m is not None and m.shape[:2] != image.shape[:2]:
                raise ValueError(f"{self.name}: masks/segmentation map of shape {m.shape} do not "
                                 f"match the image's height and width {image.shape[:2]}")
            r = root if seeds is None else generator_from_seed(seeds[i])
            image_aug, m_aug = self._run(image, m, r, call, parents)
            if squeeze and image_aug.ndim == 3 and image_aug.shape[2] == 1:
                image_aug = image_aug[:, :, 0]
            out_images.append(image_aug)
            out_masks.append(m_aug)
        return out_images, out_masks

    # ----------------------------------------------------------------------------------------
    # imgaug's public API
    def augment_image(self, image, hooks=None):
        """Augments one ``[H, W]`` or ``[H, W, C]`` image; returns the augmented image."""
        image = np.asarray(image)
        if image.ndim not in (2, 3):
            raise ValueError(f"{self.name}: augment_image expects an [H, W] or [H, W, C] image, "
                             f"got shape {image.shape}; use augment_images for a batch")
        return self._augment_many([image], None, hooks=hooks)[0][0]

    def augment_images(self, images, parents=None, hooks=None):
        """Augments a list of images or an ``[N, H, W(, C)]`` array (each image gets its own
        random draws); returns the same container type where the shapes allow."""
        was_array = isinstance(images, np.ndarray)
        if was_array and images.ndim not in (3, 4):
            raise ValueError(f"{self.name}: augment_images expects [N, H, W] or [N, H, W, C], "
                             f"got shape {images.shape}")
        result, _ = self._augment_many(list(images), None, hooks=hooks, parents=parents)
        if was_array and len({r.shape for r in result}) == 1:
            return np.array(result, dtype=images.dtype)
        return result

    def augment_segmentation_maps(self, segmaps, parents=None, hooks=None):
        """Augments ``SegmentationMapsOnImage`` object(s) alone (geometric augmenters only)."""
        from mrcnn.imgaug_compat.augmentables import SegmentationMapsOnImage
        single = isinstance(segmaps, SegmentationMapsOnImage)
        items = [segmaps] if single else list(segmaps)
        images = [np.zeros(s.shape[:2] + (s.shape[2] if len(s.shape) > 2 else 1,),
                           dtype=np.uint8) for s in items]
        arrays = [s._arr_for_augmentation() for s in items]
        _, arrs = self._augment_many(images, arrays, hooks=hooks, parents=parents)
        out = [s._from_augmented(a) for s, a in zip(items, arrs)]
        return out[0] if single else out

    def augment(self, return_batch=False, hooks=None, rng=None, **kwargs):
        """imgaug's ``augment(image=..., images=..., segmentation_maps=...)``.

        Returns the augmented inputs in the order given (one value if only one was given).
        ``rng`` (mrcnn addition): a ``np.random.Generator`` to draw from for this call.

        Raises:
            ValueError: unknown or missing inputs (keypoints, bounding boxes, heatmaps,
                polygons and line strings are not supported by the compat module), both
                ``image`` and ``images``, or ``return_batch=True``.
        """
        if return_batch:
            raise ValueError("mrcnn.imgaug_compat does not build imgaug Batch objects: call "
                             "augment(image=..., segmentation_maps=...) without return_batch")
        supported = {"image", "images", "segmentation_maps"}
        unknown = [k for k in kwargs if k not in supported]
        if unknown:
            raise ValueError(
                f"{self.name}.augment(): {', '.join(unknown)} not supported by "
                "mrcnn.imgaug_compat (it augments images and segmentation maps / instance "
                "masks); use albumentations for keypoints, bounding boxes or heatmaps")
        if "image" in kwargs and "images" in kwargs:
            raise ValueError("augment(): give image= or images=, not both")
        if "image" not in kwargs and "images" not in kwargs:
            if "segmentation_maps" in kwargs:
                return self.augment_segmentation_maps(kwargs["segmentation_maps"], hooks=hooks)
            raise ValueError("augment(): nothing to augment; pass image= or images=")
        single = "image" in kwargs
        images = [np.asarray(kwargs["image"])] if single else list(kwargs["images"])
        segmaps = kwargs.get("segmentation_maps")
        seg_items = arrays = None
        if segmaps is not None:
            from mrcnn.imgaug_compat.augmentables import as_segmaps
            seg_items = as_segmaps(segmaps, images, single)
            arrays = [s._arr_for_augmentation() for s in seg_items]
        out_images, out_arrays = self._augment_many(images, arrays, rng=rng, hooks=hooks)
        if single:
            out_img = out_images[0]
        elif isinstance(kwargs["images"], np.ndarray) and len({o.shape for o in out_images}) == 1:
            out_img = np.array(out_images, dtype=kwargs["images"].dtype)
        else:
            out_img = out_images
        if segmaps is None:
            return out_img
        out_seg = [s._from_augmented(a) for s, a in zip(seg_items, out_arrays)]
        if single:
            out_seg = out_seg[0]
        order = [k for k in kwargs if k in supported]
        values = {"image": out_img, "images": out_img, "segmentation_maps": out_seg}
        return tuple(values[k] for k in order)

    def __call__(self, *args, rng=None, **kwargs):
        """``aug(image, mask, rng=None)`` (mrcnn's protocol, see the module docstring) or
        imgaug's ``aug(image=..., images=..., segmentation_maps=...)``."""
        if args:
            if len(args) != 2 or kwargs:
                raise TypeError(
                    f"{self.name}: call it as aug(image, mask) with a bool [H, W, N] mask "
                    "(mrcnn's augmentation protocol) or with keywords as in imgaug: "
                    "aug(image=...), aug(images=...), aug(image=..., segmentation_maps=...)")
            return self._augment_mrcnn(args[0], args[1], rng)
        return self.augment(rng=rng, **kwargs)

    def _augment_mrcnn(self, image, mask, rng):
        image = np.asarray(image)
        mask = np.asarray(mask)
        if image.ndim != 3 or mask.ndim != 3 or mask.shape[:2] != image.shape[:2]:
            raise ValueError(f"{self.name}: expects an [H, W, C] image and [H, W, N] masks with "
                             f"the same H and W, got {image.shape} and {mask.shape}")
        masks = mask.view(np.uint8) if mask.dtype == np.bool_ else (mask != 0).view(np.uint8)
        images, masks_out = self._augment_many([image], [masks], rng=rng)
        # nearest-neighbour sampling and 0 fills keep the values 0/1: a view, no copy
        return images[0], masks_out[0].view(np.bool_)

    # ----------------------------------------------------------------------------------------
    # copies, seeding, children
    def to_deterministic(self, n=None):
        """A copy (or ``n`` copies) that draws the same random values in every call."""
        if n is not None:
            return [self.to_deterministic() for _ in range(n)]
        det = copy.deepcopy(self)
        source = self._own_or_global_rng()
        for aug in det.get_all_children(flat=True) + [det]:
            aug.deterministic = True
            aug._deterministic_seed = draw_seed(source)
        return det

    def seed_(self, entropy=None, deterministic_too=False):
        """Re-seeds this augmenter and its children in place (from ``entropy``, an int or a
        generator; None: from the global generator)."""
        source = get_global_rng() if entropy is None else as_generator(entropy)
        for aug in [self] + self.get_all_children(flat=True):
            if aug.deterministic and not deterministic_too:
                continue
            aug.random_state = generator_from_seed(draw_seed(source))
            if aug.deterministic:
                aug._deterministic_seed = draw_seed(source)
        return self

    def localize_random_state(self, recursive=True):
        """A copy with its own random streams (derived from the global generator)."""
        aug = copy.deepcopy(self)
        return aug.localize_random_state_(recursive)

    def localize_random_state_(self, recursive=True):
        """In place: gives augmenters without their own stream one."""
        for aug in [self] + (self.get_all_children(flat=True) if recursive else []):
            if aug.random_state is None:
                aug.random_state = generator_from_seed(draw_seed(get_global_rng()))
        return self

    def copy(self):
        """A shallow copy."""
        return copy.copy(self)

    def deepcopy(self):
        """A deep copy."""
        return copy.deepcopy(self)

    def get_children_lists(self):
        """The lists of child augmenters (empty for augmenters without children)."""
        return []

    def get_all_children(self, flat=False):
        """All children (recursively); nested lists unless ``flat``."""
        result = []
        for lst in self.get_children_lists():
            for child in lst:
                result.append(child)
                grand = child.get_all_children(flat=flat)
                if grand:
                    if flat:
                        result.extend(grand)
                    else:
                        result.append(grand)
        return result

    def find_augmenters(self, func, parents=None, flat=True):
        """Augmenters (this one and its children) for which ``func(aug, parents)`` is true."""
        parents = [] if parents is None else parents
        result = [self] if func(self, parents) else []
        for lst in self.get_children_lists():
            for child in lst:
                found = child.find_augmenters(func, parents + [self], flat=flat)
                if found:
                    if flat:
                        result.extend(found)
                    else:
                        result.append(found)
        return result

    def find_augmenters_by_name(self, name, regex=False, flat=True):
        """Augmenters with this name (or matching this regex)."""
        return self.find_augmenters_by_names([name], regex=regex, flat=flat)

    def find_augmenters_by_names(self, names, regex=False, flat=True):
        """Augmenters with one of these names (or matching one of these regexes)."""
        import re
        if regex:
            return self.find_augmenters(
                lambda aug, parents: any(re.match(n, aug.name) for n in names), flat=flat)
        return self.find_augmenters(lambda aug, parents: aug.name in names, flat=flat)

    def get_parameters(self):
        """The stochastic parameters and settings of this augmenter (imgaug's repr)."""
        return []

    def __str__(self):
        params = ", ".join(str(p) for p in self.get_parameters())
        return (f"{type(self).__name__}(name={self.name}, parameters=[{params}], "
                f"deterministic={self.deterministic})")

    __repr__ = __str__


def _propagating(call, image, aug, parents):
    hooks = call.hooks
    return hooks is None or hooks.is_propagating(image[np.newaxis], augmenter=aug,
                                                 parents=parents, default=True)


def _as_image(image, aug):
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"{aug.name}: an image must be [H, W] or [H, W, C], got shape "
                         f"{image.shape}")
    if image.dtype == np.bool_:
        raise TypeError(f"{aug.name}: bool images are not supported; convert with "
                        "image.astype(np.uint8) * 255 (masks: pass them as segmentation maps or "
                        "use aug(image, mask))")
    return image


def handle_children_list(lst, augmenter_name, lst_name, default="sequential"):
    """None -> None (or an empty ``Sequential``), an augmenter -> ``Sequential([aug])``, a list
    of augmenters -> ``Sequential(list)``; anything else raises a ``TypeError``."""
    if lst is None:
        if default == "sequential":
            return Sequential([], name=f"{augmenter_name}-{lst_name}")
        return default
    if isinstance(lst, Sequential):
        return lst
    if isinstance(lst, Augmenter):
        return Sequential([lst], name=f"{augmenter_name}-{lst_name}")
    if isinstance(lst, (list, tuple)):
        return Sequential(list(lst), name=f"{augmenter_name}-{lst_name}")
    raise TypeError(f"{augmenter_name}: {lst_name} must be None, an augmenter or a list of "
                    f"augmenters, got {type(lst).__name__}")


def _check_children(children, owner):
    if children is None:
        return []
    if isinstance(children, Augmenter):
        return [children]
    if not isinstance(children, (list, tuple)):
        raise TypeError(f"{owner}: children must be an augmenter or a list of augmenters, got "
                        f"{type(children).__name__}")
    for child in children:
        if not isinstance(child, Augmenter):
            mods = [c.__module__ for c in type(child).__mro__]
            hint = ""
            if any(m.split(".")[0] == "imgaug" for m in mods):
                hint = (" (a real imgaug augmenter: create it from mrcnn.imgaug_compat, e.g. "
                        "'from mrcnn.imgaug_compat import augmenters as iaa')")
            elif any(m.split(".")[0] == "albumentations" for m in mods):
                hint = (" (an albumentations transform: pass albumentations transforms in an "
                        "A.Compose, or use the compat augmenter of the same imgaug name)")
            raise TypeError(f"{owner}: every child must be an mrcnn.imgaug_compat augmenter, got "
                            f"{type(child).__name__}{hint}")
    return list(children)


class _ListAugmenter(Augmenter, list):
    def __init__(self, children, seed, name, random_state, deterministic):
        Augmenter.__init__(self, seed=seed, name=name, random_state=random_state,
                           deterministic=deterministic)
        list.__init__(self, _check_children(children, type(self).__name__))

    def add(self, augmenter):
        """Appends a child augmenter."""
        self.append(_check_children([augmenter], type(self).__name__)[0])

    def get_children_lists(self):
        return [self]

    # list and Augmenter both define equality/hash differently: keep identity semantics
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def __str__(self):
        children = ", ".join(str(c) for c in self)
        return (f"{type(self).__name__}(name={self.name}, {self._settings()}, "
                f"augmenters=[{children}], deterministic={self.deterministic})")

    __repr__ = __str__

    def __deepcopy__(self, memo):
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        list.__init__(new, [copy.deepcopy(c, memo) for c in self])
        for k, v in self.__dict__.items():
            setattr(new, k, copy.deepcopy(v, memo))
        return new

    def __copy__(self):
        new = type(self).__new__(type(self))
        list.__init__(new, list(self))
        new.__dict__.update(self.__dict__)
        return new

    def __reduce_ex__(self, protocol):
        return (_rebuild_list_augmenter, (type(self), list(self), self.__dict__))


def _rebuild_list_augmenter(cls, children, state):
    new = cls.__new__(cls)
    list.__init__(new, children)
    new.__dict__.update(state)
    return new


class Sequential(_ListAugmenter):
    """Applies the children in order, or in a random order if ``random_order`` (drawn once per
    call / batch, as in imgaug; training augments one image per call).

    Mirrors imgaug's ``iaa.Sequential(children=None, random_order=False, seed=None, name=None)``.
    """

    def __init__(self, children=None, random_order=False, seed=None, name=None,
                 random_state="deprecated", deterministic="deprecated"):
        super().__init__(children, seed, name, random_state, deterministic)
        if not isinstance(random_order, (bool, np.bool_)):
            raise TypeError(f"Sequential: random_order must be True or False, got "
                            f"{random_order!r}")
        self.random_order = bool(random_order)

    def _settings(self):
        return f"random_order={self.random_order}"

    def _augment_one(self, image, masks, rng, call, parents):
        seeds = _child_seeds(rng, len(self))
        order = call.order(self, rng) if self.random_order else range(len(self))
        if not _propagating(call, image, self, parents):
            return image, masks
        parents = parents + [self]
        for i in order:
            image, masks = self._run_child(self[i], image, masks, seeds[i], call, parents)
        return image, masks


class SomeOf(_ListAugmenter):
    """Applies ``n`` of the children, picked at random per image, in list order (a random order
    drawn once per call / batch if ``random_order``, as in imgaug).

    Mirrors imgaug's ``iaa.SomeOf(n=None, children=None, random_order=False, ...)``: ``n`` an
    int (exactly n), ``(a, b)`` (uniform integer in [a, b]), ``(a, None)`` (uniform in
    [a, len(children)]), a ``StochasticParameter``, or None (all children). ``n`` larger than
    the number of children applies all of them.
    """

    def __init__(self, n=None, children=None, random_order=False, seed=None, name=None,
                 random_state="deprecated", deterministic="deprecated"):
        super().__init__(children, seed, name, random_state, deterministic)
        self.n, self.n_mode = self._handle_arg_n(n)
        if not isinstance(random_order, (bool, np.bool_)):
            raise TypeError(f"SomeOf: random_order must be True or False, got {random_order!r}")
        self.random_order = bool(random_order)

    @staticmethod
    def _handle_arg_n(n):
        if iap.is_single_number(n):
            return int(n), "deterministic"
        if n is None:
            return None, "None"
        if isinstance(n, iap.StochasticParameter):
            return n, "stochastic"
        if isinstance(n, (tuple, list)) and len(n) == 2:
            if iap.is_single_number(n[0]) and n[1] is None:
                return (int(n[0]), None), "(int,None)"
            if iap.is_single_number(n[0]) and iap.is_single_number(n[1]):
                return iap.DiscreteUniform(int(n[0]), int(n[1])), "stochastic"
        raise TypeError(f"SomeOf: n must be an int, (int, int), (int, None), a "
                        f"StochasticParameter or None, got {n!r}")

    def _draw_n(self, rng):
        if self.n_mode == "deterministic":
            return self.n
        if self.n_mode == "None":
            return len(self)
        if self.n_mode == "(int,None)":
            return int(iap.DiscreteUniform(self.n[0], len(self))._draw_samples((1,), rng)[0])
        return int(self.n._draw_samples((1,), rng)[0])

    def _settings(self):
        return f"n={self.n}, random_order={self.random_order}"

    def _augment_one(self, image, masks, rng, call, parents):
        count = len(self)
        seeds = _child_seeds(rng, count)
        order = call.order(self, rng) if self.random_order else range(count)
        k = min(max(self._draw_n(rng), 0), count)
        active = np.zeros(count, dtype=bool)
        active[:k] = True
        rng.shuffle(active)
        if not _propagating(call, image, self, parents):
            return image, masks
        parents = parents + [self]
        for i in order:
            if active[i]:
                image, masks = self._run_child(self[i], image, masks, seeds[i], call, parents)
        return image, masks


class OneOf(SomeOf):
    """Applies exactly one of the children, picked at random per image (imgaug's
    ``iaa.OneOf(children, ...)``)."""

    def __init__(self, children, seed=None, name=None, random_state="deprecated",
                 deterministic="deprecated"):
        super().__init__(n=1, children=children, random_order=False, seed=seed, name=name,
                         random_state=random_state, deterministic=deterministic)


class Sometimes(Augmenter):
    """Applies ``then_list`` with probability ``p``, else ``else_list`` (imgaug's
    ``iaa.Sometimes(p=0.5, then_list=None, else_list=None, ...)``; the lists may be an
    augmenter, a list of augmenters or None)."""

    def __init__(self, p=0.5, then_list=None, else_list=None, seed=None, name=None,
                 random_state="deprecated", deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        self.p = iap.handle_probability_param(p, "p")
        self.then_list = handle_children_list(then_list, self.name, "then", default=None)
        self.else_list = handle_children_list(else_list, self.name, "else", default=None)

    def get_children_lists(self):
        return [lst for lst in (self.then_list, self.else_list) if lst is not None]

    def get_parameters(self):
        return [self.p]

    def __str__(self):
        return (f"Sometimes(p={self.p}, name={self.name}, then_list={self.then_list}, "
                f"else_list={self.else_list}, deterministic={self.deterministic})")

    __repr__ = __str__

    def _augment_one(self, image, masks, rng, call, parents):
        seeds = _child_seeds(rng, 2)
        use_then = self.p._draw_samples((1,), rng)[0] > 0.5
        branch, seed = (self.then_list, seeds[0]) if use_then else (self.else_list, seeds[1])
        if branch is None or not _propagating(call, image, self, parents):
            return image, masks
        return self._run_child(branch, image, masks, seed, call, parents + [self])


class Identity(Augmenter):
    """Returns the inputs unchanged (imgaug's ``iaa.Identity``)."""

    def _augment_one(self, image, masks, rng, call, parents):
        return image, masks


class Noop(Identity):
    """imgaug's deprecated alias of ``Identity``."""
