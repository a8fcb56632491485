"""Geometric augmenters (mirrors ``imgaug.augmenters.geometric``): ``Affine`` (and its
shortcuts ``ScaleX`` ... ``ShearY``), ``Rot90``, ``PerspectiveTransform``,
``ElasticTransformation``, ``PiecewiseAffine``.

Each draws its parameters by imgaug 0.4.0's rules, builds the same transformation imgaug builds
(e.g. ``Affine``'s matrix about the pixel centre ``(w/2 - 0.5, h/2 - 0.5)``; positive ``rotate``
turns clockwise on screen; coordinates are ``(x, y)`` pixels with y down) and has
albumentations execute it on the image (its ``warp_affine``, ``RandomRotate90``, ``perspective``,
``resize`` and ``remap`` functions). Masks follow with nearest-neighbour interpolation and
constant 0 outside the image, as imgaug does for segmentation maps; affine warps of masks (and
of images with ``order=0``, ``mode="constant"``) pick the same source pixels as imgaug's OpenCV
4 (``warp_affine_nearest``). Images: ``[H, W, C]`` uint8, uint16 or float32.
"""

import numpy as np

from mrcnn.imgaug_compat import parameters as iap
from mrcnn.imgaug_compat.augmenters._albu import MODE_TO_CV2, ORDER_TO_CV2, cv2, transform
from mrcnn.imgaug_compat.augmenters._base import Leaf

import albumentations.augmentations.geometric.functional as fgeometric

__all__ = ["Affine", "ScaleX", "ScaleY", "TranslateX", "TranslateY", "Rotate", "ShearX",
           "ShearY", "Rot90", "PerspectiveTransform", "ElasticTransformation",
           "PiecewiseAffine"]

_AFFINE_MODES = ("constant", "edge", "symmetric", "reflect", "wrap")


def _handle_order_arg(order, name="order"):
    if order == iap.ALL:
        return iap.Choice([0, 1, 3])
    values = order if isinstance(order, list) else [order] if iap.is_single_integer(order) \
        else None
    if values is not None:
        bad = [v for v in values if not iap.is_single_integer(v) or v not in ORDER_TO_CV2]
        if bad:
            raise ValueError(
                f"{name}={order!r}: mrcnn.imgaug_compat supports interpolation orders 0 "
                "(nearest), 1 (linear) and 3 (cubic), which OpenCV/albumentations provide; "
                "imgaug ran orders 2, 4 and 5 through scikit-image. Use 0, 1 or 3.")
        return iap.Deterministic(order) if not isinstance(order, list) else iap.Choice(order)
    if isinstance(order, iap.StochasticParameter):
        return order
    raise TypeError(f"{name}: expected an int, a list of ints, imgaug.ALL or a "
                    f"StochasticParameter, got {type(order).__name__}")


def _handle_cval_arg(cval):
    if cval == iap.ALL:
        return iap.Uniform(0, 255)
    return iap.handle_continuous_param(cval, "cval", value_range=None)


def _handle_mode_arg(mode, valid=_AFFINE_MODES):
    return iap.handle_categorical_string_param(mode, "mode", valid_values=valid)


def _fill(cval_row, channels):
    values = [float(v) for v in np.atleast_1d(cval_row)]
    if channels <= len(values):
        return tuple(values[:channels]) if channels > 1 else values[0]
    return tuple([values[0]] * channels)


def _skimage_affine(scale=(1.0, 1.0), rotation=0.0, shear=0.0, translation=(0.0, 0.0)):
    """The 3x3 matrix of scikit-image's ``AffineTransform`` (the parameterisation imgaug
    0.4.0 composes with)."""
    sx, sy = scale
    return np.array([[sx * np.cos(rotation), -sy * np.sin(rotation + shear), translation[0]],
                     [sx * np.sin(rotation), sy * np.cos(rotation + shear), translation[1]],
                     [0.0, 0.0, 1.0]])


def affine_matrix(shape, scale_x=1.0, scale_y=1.0, translate_x_px=0.0, translate_y_px=0.0,
                  rotate_deg=0.0, shear_x_deg=0.0, shear_y_deg=0.0):
    """imgaug's ``Affine`` matrix for an image of ``shape`` (forward, pixel coordinates).

    Rotation, scale and shear act about the pixel centre ``(w/2 - 0.5, h/2 - 0.5)``; positive
    angles turn clockwise on screen (y points down); the y-shear is applied as an x-shear in a
    frame rotated by 90 degrees, as in imgaug.
    """
    height, width = shape[:2]
    shift_x, shift_y = width / 2.0 - 0.5, height / 2.0 - 0.5
    rot, shx, shy = np.deg2rad([rotate_deg, shear_x_deg, shear_y_deg])
    to_topleft = _skimage_affine(translation=(-shift_x, -shift_y))
    to_center = _skimage_affine(translation=(shift_x, shift_y))
    shear_y_rot = _skimage_affine(rotation=-3.141592 / 2)  # imgaug's constant
    shear_y_rot_inv = _skimage_affine(rotation=3.141592 / 2)
    shear_y = _skimage_affine(shear=shy)
    transforms = _skimage_affine(scale=(scale_x, scale_y), rotation=rot, shear=shx,
                                 translation=(translate_x_px, translate_y_px))
    return to_center @ transforms @ shear_y_rot_inv @ shear_y @ shear_y_rot @ to_topleft


def _fit_output(matrix, shape):
    height, width = shape[:2]
    if height == 0 or width == 0:
        return matrix, shape[:2]
    corners = np.array([[0, 0, 1], [0, height - 1, 1], [width - 1, height - 1, 1],
                        [width - 1, 0, 1]], dtype=np.float64)
    moved = corners @ matrix.T
    minc, minr = moved[:, 0].min(), moved[:, 1].min()
    maxc, maxr = moved[:, 0].max(), moved[:, 1].max()
    out_shape = (int(np.ceil(maxr - minr + 1)), int(np.ceil(maxc - minc + 1)))
    return _skimage_affine(translation=(-minc, -minr)) @ matrix, out_shape


def warp_affine_nearest(arr, matrix, out_shape, fill=0):
    """Nearest-neighbour affine warp with OpenCV 4's sampling, constant ``fill`` outside.

    ``cv2.warpAffine`` (OpenCV 4.x, what imgaug 0.4.0 ran on) inverts the matrix, evaluates the
    source coordinates in fixed point (1/1024 pixel, each term rounded) and rounds halves up;
    OpenCV 5 samples more precisely and so picks the other neighbour wherever a source
    coordinate lies within 1/2048 pixel of a half-integer, which an ``Affine(rotate=90)`` of a
    non-square image or a half-pixel translation produces for whole rows and columns. To move
    masks exactly as imgaug does on any OpenCV, the source pixel of every output pixel is
    computed here with OpenCV 4's rule and handed to ``cv2.remap`` as an integer map (which
    samples exactly those pixels, up to 512 channels at once).
    """
    m = np.asarray(matrix, dtype=np.float64)[:2].ravel()
    d = m[0] * m[4] - m[1] * m[3]
    d = 1.0 / d if d != 0 else 0.0
    a11, a22 = m[4] * d, m[0] * d
    a12, a21 = -m[1] * d, -m[3] * d
    b1 = -a11 * m[2] - a12 * m[5]
    b2 = -a21 * m[2] - a22 * m[5]
    h_out, w_out = int(out_shape[0]), int(out_shape[1])
    scale = 1024.0
    xs = np.arange(w_out, dtype=np.float64)
    ys = np.arange(h_out, dtype=np.float64)
    adelta = np.rint(a11 * xs * scale).astype(np.int64)
    bdelta = np.rint(a21 * xs * scale).astype(np.int64)
    x0 = np.rint((a12 * ys + b1) * scale).astype(np.int64) + 512
    y0 = np.rint((a22 * ys + b2) * scale).astype(np.int64) + 512
    h, w = arr.shape[:2]
    # clip far-outside coordinates to -1 (still outside) so that they fit OpenCV's int16 maps
    src_x = np.clip((x0[:, None] + adelta[None, :]) >> 10, -1, w)
    src_y = np.clip((y0[:, None] + bdelta[None, :]) >> 10, -1, h)
    channels = arr.shape[2] if arr.ndim == 3 else 1
    fill = np.broadcast_to(np.asarray(fill, dtype=np.float64), (channels,))
    if max(h, w) < 32767 and (channels <= 4 or not fill.any()):
        # integer maps: OpenCV samples exactly these pixels (no rounding of its own)
        xy = np.ascontiguousarray(np.stack([src_x, src_y], axis=-1).astype(np.int16))
        border = tuple(float(v) for v in fill[:4]) if channels <= 4 else 0.0
        outs = [cv2.remap(np.ascontiguousarray(arr[..., c:c + 512]), xy, None,
                          cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=border)
                for c in range(0, channels, 512)] if arr.ndim == 3 else \
            [cv2.remap(np.ascontiguousarray(arr), xy, None, cv2.INTER_NEAREST,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=border)]
        outs = [o.reshape(h_out, w_out, -1) for o in outs]
        out = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=2)
        return out if arr.ndim == 3 else out[:, :, 0]
    inside = (src_x >= 0) & (src_x < w) & (src_y >= 0) & (src_y < h)
    out = np.empty((h_out, w_out) + arr.shape[2:], dtype=arr.dtype)
    out[...] = fill.astype(arr.dtype) if arr.ndim == 3 else fill[0]
    out[inside] = arr[src_y[inside], src_x[inside]]
    return out


def _is_identity(matrix, eps=1e-4):
    return np.average(np.abs(np.eye(3) - matrix)) <= eps


class Affine(Leaf):
    """Scales, translates, rotates and shears images and masks (imgaug's ``iaa.Affine``).

    Args (imgaug's, with its defaults and value conventions):
        scale: factor; number, ``(a, b)`` (uniform), list (choice), parameter, or a dict
            ``{"x": ..., "y": ...}`` for independent axes (default 1.0).
        translate_percent: fraction of the width/height (same conventions, dict per axis);
            a single value is used for both axes.
        translate_px: pixels (ints; same conventions). Only one of the two translate arguments.
        rotate: degrees, clockwise on screen (default 0).
        shear: degrees; a single number shears along x only, a tuple/list/parameter by the same
            sample on both axes, a dict per axis.
        order: interpolation 0 (nearest), 1 (linear, default) or 3 (cubic), a list, or
            ``imgaug.ALL`` (0, 1 or 3). Masks always use nearest neighbour.
        cval: fill value for new pixels (number, range, list, ``imgaug.ALL``); masks get 0.
        mode: ``"constant"`` (default), ``"edge"``, ``"symmetric"``, ``"reflect"``, ``"wrap"``,
            a list, or ``imgaug.ALL``. Masks always use constant 0.
        fit_output: enlarge the output so that the whole transformed image fits.
        backend: accepted for compatibility; OpenCV (through albumentations) is always used.
        seed, name, random_state, deterministic: see ``Augmenter``.

    Called without any of scale/translate/rotate/shear, imgaug 0.4.0 uses its defaults
    ``scale=(0.9, 1.1), translate_percent=(-0.1, 0.1) per axis, rotate=(-15, 15),
    shear=(-10, 10) per axis``; so does this class.

    Raises:
        ValueError: both translate arguments, orders other than 0/1/3, unknown modes, scale
            values <= 0.
    """

    geometric = True

    def __init__(self, scale=None, translate_percent=None, translate_px=None, rotate=None,
                 shear=None, order=1, cval=0, mode="constant", fit_output=False, backend="auto",
                 seed=None, name=None, random_state="deprecated", deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        if all(v is None for v in (scale, translate_percent, translate_px, rotate, shear)):
            scale = {"x": (0.9, 1.1), "y": (0.9, 1.1)}
            translate_percent = {"x": (-0.1, 0.1), "y": (-0.1, 0.1)}
            rotate = (-15, 15)
            shear = {"x": (-10, 10), "y": (-10, 10)}
        else:
            scale = 1.0 if scale is None else scale
            rotate = 0.0 if rotate is None else rotate
            shear = 0.0 if shear is None else shear
        if backend not in ("auto", "skimage", "cv2"):
            raise ValueError(f"Affine: backend must be 'auto', 'skimage' or 'cv2', got "
                             f"{backend!r}")
        self.backend = backend
        self.order = _handle_order_arg(order)
        self.cval = _handle_cval_arg(cval)
        self.mode = _handle_mode_arg(mode)
        self.scale = self._per_axis(scale, "scale", 1.0, continuous=True,
                                    value_range=(1e-4, None))
        if translate_percent is not None and translate_px is not None:
            raise ValueError("Affine: give translate_percent or translate_px, not both")
        if translate_percent is not None:
            self.translate = self._per_axis(translate_percent, "translate_percent", 0,
                                            continuous=True)
            self.translate_mode = "percent"
        else:
            self.translate = self._per_axis(0 if translate_px is None else translate_px,
                                            "translate_px", 0, continuous=False)
            self.translate_mode = "px"
        self.rotate = iap.handle_continuous_param(rotate, "rotate")
        self._shear_single = iap.is_single_number(shear)
        self.shear = self._per_axis(shear, "shear", 0, continuous=True)
        self.fit_output = bool(fit_output)

    @staticmethod
    def _per_axis(value, name, default, continuous, value_range=None):
        """(x_param, y_param); y is None when one sample serves both axes."""
        def handle(v, n):
            if continuous:
                return iap.handle_continuous_param(v, n, value_range=value_range)
            return iap.handle_discrete_param(v, n, value_range=value_range, allow_floats=False)
        if isinstance(value, dict):
            unknown = set(value) - {"x", "y"}
            if not value or unknown:
                raise ValueError(f"Affine: a {name} dict must have keys 'x' and/or 'y', got "
                                 f"{sorted(value)}")
            return (handle(value.get("x", default), f"{name}['x']"),
                    handle(value.get("y", default), f"{name}['y']"))
        return handle(value, name), None

    def get_parameters(self):
        return [self.scale, self.translate, self.rotate, self.shear, self.order, self.cval,
                self.mode, self.backend, self.fit_output]

    @staticmethod
    def _pair(params, rng):
        x = float(params[0]._draw_samples((1,), rng)[0])
        y = x if params[1] is None else float(params[1]._draw_samples((1,), rng)[0])
        return x, y

    def _draw(self, rng, image):
        sx, sy = self._pair(self.scale, rng)
        tx, ty = self._pair(self.translate, rng)
        rotate = float(self.rotate._draw_samples((1,), rng)[0])
        if self.shear[1] is None and self._shear_single:
            shx, shy = float(self.shear[0]._draw_samples((1,), rng)[0]), 0.0
        else:
            shx, shy = self._pair(self.shear, rng)
        cval = self.cval._draw_samples((3,), rng)
        mode = str(self.mode._draw_samples((1,), rng)[0])
        order = int(self.order._draw_samples((1,), rng)[0])
        if mode not in MODE_TO_CV2 or order not in ORDER_TO_CV2:
            raise ValueError(f"{self.name}: drew mode={mode!r}, order={order}; supported modes "
                             f"{', '.join(_AFFINE_MODES)}, orders 0, 1, 3")
        height, width = image.shape[:2]
        if self.translate_mode == "percent":
            tx, ty = tx * width, ty * height
        matrix = affine_matrix(image.shape, sx, sy, tx, ty, rotate, shx, shy)
        out_shape = (height, width)
        if self.fit_output:
            matrix, out_shape = _fit_output(matrix, image.shape)
        if _is_identity(matrix) and out_shape == (height, width):
            return None
        return matrix, out_shape, cval, MODE_TO_CV2[mode], ORDER_TO_CV2[order]

    def _image(self, image, params):
        matrix, out_shape, cval, mode, order = params
        fill = _fill(cval, image.shape[2])
        if order == cv2.INTER_NEAREST and mode == cv2.BORDER_CONSTANT:
            fill = np.clip(np.round(np.broadcast_to(fill, image.shape[2:])), 0, None) \
                if image.dtype.kind in "ui" else np.broadcast_to(fill, image.shape[2:])
            return warp_affine_nearest(image, matrix, out_shape, fill)
        return fgeometric.warp_affine(image, matrix, interpolation=order, fill=fill,
                                      border_mode=mode, output_shape=out_shape)

    def _masks(self, masks, params):
        matrix, out_shape = params[:2]
        return warp_affine_nearest(masks, matrix, out_shape, 0)


def ScaleX(scale=(0.5, 1.5), **kwargs):  # noqa: N802 - imgaug's names
    """imgaug's ``iaa.ScaleX``: ``Affine(scale={"x": scale})``."""
    return Affine(scale={"x": scale}, **kwargs)


def ScaleY(scale=(0.5, 1.5), **kwargs):  # noqa: N802
    """imgaug's ``iaa.ScaleY``: ``Affine(scale={"y": scale})``."""
    return Affine(scale={"y": scale}, **kwargs)


def TranslateX(percent=None, px=None, **kwargs):  # noqa: N802
    """imgaug's ``iaa.TranslateX`` (default ``percent=(-0.25, 0.25)``)."""
    if percent is None and px is None:
        percent = (-0.25, 0.25)
    if px is not None:
        return Affine(translate_px={"x": px}, **kwargs)
    return Affine(translate_percent={"x": percent}, **kwargs)


def TranslateY(percent=None, px=None, **kwargs):  # noqa: N802
    """imgaug's ``iaa.TranslateY`` (default ``percent=(-0.25, 0.25)``)."""
    if percent is None and px is None:
        percent = (-0.25, 0.25)
    if px is not None:
        return Affine(translate_px={"y": px}, **kwargs)
    return Affine(translate_percent={"y": percent}, **kwargs)


def Rotate(rotate=(-30, 30), **kwargs):  # noqa: N802
    """imgaug's ``iaa.Rotate``: ``Affine(rotate=rotate)``."""
    return Affine(rotate=rotate, **kwargs)


def ShearX(shear=(-30, 30), **kwargs):  # noqa: N802
    """imgaug's ``iaa.ShearX``: ``Affine(shear={"x": shear})``."""
    return Affine(shear={"x": shear}, **kwargs)


def ShearY(shear=(-30, 30), **kwargs):  # noqa: N802
    """imgaug's ``iaa.ShearY``: ``Affine(shear={"y": shear})``."""
    return Affine(shear={"y": shear}, **kwargs)


def imresize_interpolation(from_shape, to_shape):
    """imgaug's default resize interpolation (``interpolation=None``): OpenCV's area filter when
    the target is larger along an axis, else bilinear."""
    if to_shape[0] > from_shape[0] or to_shape[1] > from_shape[1]:
        return cv2.INTER_AREA
    return cv2.INTER_LINEAR


class Rot90(Leaf):
    """Rotates by ``k`` * 90 degrees clockwise (imgaug's ``iaa.Rot90(k=1, keep_size=True)``;
    albumentations ``RandomRotate90``).

    Args:
        k: int, ``(a, b)``, list, parameter or ``imgaug.ALL`` (0, 1, 2, 3).
        keep_size: resize a rotated non-square image back to the input size (images with
            imgaug's default interpolation, masks with nearest neighbour). Training needs this.
    """

    geometric = True

    def __init__(self, k=1, keep_size=True, seed=None, name=None, random_state="deprecated",
                 deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        if k == iap.ALL:
            k = [0, 1, 2, 3]
        self.k = iap.handle_discrete_param(k, "k", allow_floats=False)
        self.keep_size = bool(keep_size)

    def get_parameters(self):
        return [self.k, self.keep_size]

    def _draw(self, rng, image):
        k = int(self.k._draw_samples((1,), rng)[0]) % 4
        return None if k == 0 else k

    def _rotate(self, arr, k, interpolation):
        out = transform("RandomRotate90").apply(arr, factor=(-k) % 4)  # albumentations: ccw
        if self.keep_size and out.shape[:2] != arr.shape[:2]:
            out = fgeometric.resize(np.ascontiguousarray(out), arr.shape[:2],
                                    interpolation if interpolation is not None else
                                    imresize_interpolation(out.shape, arr.shape))
        return np.ascontiguousarray(out)

    def _image(self, image, k):
        return self._rotate(image, k, None)

    def _masks(self, masks, k):
        return self._rotate(masks, k, cv2.INTER_NEAREST)


class PerspectiveTransform(Leaf):
    """Random four-point perspective warp (imgaug's ``iaa.PerspectiveTransform(scale=(0.0,
    0.06), cval=0, mode="constant", keep_size=True, fit_output=False)``; albumentations
    ``Perspective``).

    Each corner is moved inwards by ``|N(0, scale)|`` (modulo 1) of the width/height, as in
    imgaug; ``mode`` is ``"constant"`` or ``"replicate"``. The image is warped to the size of
    the moved quadrilateral by albumentations' perspective warp and, with ``keep_size``,
    resized back (imgaug's two steps). ``polygon_recoverer`` is accepted and ignored.
    """

    geometric = True

    def __init__(self, scale=(0.0, 0.06), cval=0, mode="constant", keep_size=True,
                 fit_output=False, polygon_recoverer="auto", seed=None, name=None,
                 random_state="deprecated", deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        self.scale = iap.handle_continuous_param(scale, "scale", value_range=(0, None))
        self.jitter = iap.Normal(loc=0, scale=self.scale)
        self.cval = _handle_cval_arg(cval)
        if mode == iap.ALL:
            mode = ["constant", "replicate"]
        if iap.is_single_integer(mode):
            mode = {cv2.BORDER_CONSTANT: "constant", cv2.BORDER_REPLICATE: "replicate"}.get(mode,
                                                                                          mode)
        self.mode = _handle_mode_arg(mode, ("constant", "replicate"))
        self.keep_size = bool(keep_size)
        self.fit_output = bool(fit_output)
        self.polygon_recoverer = polygon_recoverer

    def get_parameters(self):
        return [self.jitter, self.keep_size, self.cval, self.mode, self.fit_output]

    @staticmethod
    def _order_points(pts):
        ordered = np.zeros((4, 2), dtype=np.float32)
        s = pts.sum(axis=1)
        ordered[0], ordered[2] = pts[np.argmin(s)], pts[np.argmax(s)]
        d = np.diff(pts, axis=1)
        ordered[1], ordered[3] = pts[np.argmin(d)], pts[np.argmax(d)]
        return ordered

    def _draw(self, rng, image):
        cval = self.cval._draw_samples((3,), rng)
        mode = str(self.mode._draw_samples((1,), rng)[0])
        jitter = self.jitter._draw_samples((4, 2), rng)
        h, w = image.shape[:2]
        pts = np.mod(np.abs(jitter), 1).astype(np.float32)
        pts[1, 0] = 1.0 - pts[1, 0]
        pts[2, 0] = 1.0 - pts[2, 0]
        pts[2, 1] = 1.0 - pts[2, 1]
        pts[3, 1] = 1.0 - pts[3, 1]
        pts[:, 0] *= w
        pts[:, 1] *= h
        tl, tr, br, bl = pts = self._order_points(pts)
        min_w = max_w = None
        while min_w is None or min_w < 2:
            top, bottom = np.hypot(*(tr - tl)), np.hypot(*(br - bl))
            max_w, min_w = int(max(top, bottom)), int(min(top, bottom))
            if min_w < 2:
                step = (2 - min_w) / 2
                tl[0] -= step
                tr[0] += step
                bl[0] -= step
                br[0] += step
        min_h = max_h = None
        while min_h is None or min_h < 2:
            right, left = np.hypot(*(tr - br)), np.hypot(*(tl - bl))
            max_h, min_h = int(max(right, left)), int(min(right, left))
            if min_h < 2:
                step = (2 - min_h) / 2
                tl[1] -= step
                tr[1] -= step
                bl[1] += step
                br[1] += step
        dst = np.array([[0, 0], [max_w, 0], [max_w, max_h], [0, max_h]], dtype=np.float32)
        matrix = cv2.getPerspectiveTransform(pts, dst)
        if self.fit_output:
            rect = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
            moved = cv2.perspectiveTransform(rect[None], matrix)[0]
            moved = np.around(moved - moved.min(axis=0, keepdims=True))
            matrix = cv2.getPerspectiveTransform(rect, moved.astype(np.float32))
            max_w, max_h = (int(v) for v in moved.max(axis=0))
        return matrix, max_h, max_w, cval, MODE_TO_CV2[mode]

    def _warp(self, arr, params, interpolation, fill, mode):
        matrix, max_h, max_w = params[:3]
        out = fgeometric.perspective(arr, matrix, max_w, max_h, fill, mode, False, interpolation)
        if out.ndim == 2:
            out = out[:, :, np.newaxis]
        if self.keep_size and out.shape[:2] != arr.shape[:2]:
            # as imgaug: warp to the quadrilateral's size, then resize back
            out = fgeometric.resize(np.ascontiguousarray(out), arr.shape[:2],
                                    cv2.INTER_NEAREST if interpolation == cv2.INTER_NEAREST
                                    else imresize_interpolation(out.shape, arr.shape))
        return np.ascontiguousarray(out)

    def _image(self, image, params):
        cval, mode = params[3:]
        return self._warp(image, params, cv2.INTER_LINEAR, _fill(cval, image.shape[2]), mode)

    def _masks(self, masks, params):
        return self._warp(masks, params, cv2.INTER_NEAREST, 0, cv2.BORDER_CONSTANT)


def _gaussian_ksize(sigma):
    """imgaug's kernel size for a Gaussian blur of ``sigma`` (odd, >= 5)."""
    if sigma < 3.0:
        k = 3.3 * sigma
    elif sigma < 5.0:
        k = 2.9 * sigma
    else:
        k = 2.6 * sigma
    k = int(max(k, 5))
    return k + 1 if k % 2 == 0 else k


class ElasticTransformation(Leaf):
    """Elastic distortion (imgaug's ``iaa.ElasticTransformation(alpha=(0.0, 40.0), sigma=(4.0,
    8.0), order=3, cval=0, mode="constant")``; albumentations ``ElasticTransform``).

    Displacements: uniform noise in [-1, 1] per pixel and axis, Gaussian-smoothed with ``sigma``
    (imgaug's kernel size, on a padded field), times ``alpha``; the image is remapped with
    ``order`` (0, 1, 3), masks with nearest neighbour and constant 0. ``polygon_recoverer`` is
    accepted and ignored.
    """

    geometric = True

    def __init__(self, alpha=(0.0, 40.0), sigma=(4.0, 8.0), order=3, cval=0, mode="constant",
                 polygon_recoverer="auto", seed=None, name=None, random_state="deprecated",
                 deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        self.alpha = iap.handle_continuous_param(alpha, "alpha", value_range=(0, None))
        self.sigma = iap.handle_continuous_param(sigma, "sigma", value_range=(0, None))
        self.order = _handle_order_arg(order)
        self.cval = iap.DiscreteUniform(0, 255) if cval == iap.ALL else \
            iap.handle_discrete_param(cval, "cval", value_range=(0, 255))
        self.mode = _handle_mode_arg(mode, ("constant", "nearest", "reflect", "wrap"))
        self.polygon_recoverer = polygon_recoverer

    def get_parameters(self):
        return [self.alpha, self.sigma, self.order, self.cval, self.mode]

    def _draw(self, rng, image):
        alpha = float(self.alpha._draw_samples((1,), rng)[0])
        sigma = float(self.sigma._draw_samples((1,), rng)[0])
        order = int(self.order._draw_samples((1,), rng)[0])
        cval = int(self.cval._draw_samples((1,), rng)[0])
        mode = str(self.mode._draw_samples((1,), rng)[0])
        h, w = image.shape[:2]
        if alpha <= 1e-3 or sigma <= 1e-3:
            return None
        pad = _gaussian_ksize(sigma)
        noise = (rng.random((2, h + 2 * pad, w + 2 * pad)) * 2 - 1).astype(np.float32)
        # the displacement field is smoothed as imgaug does (OpenCV's Gaussian, reflect-101)
        dx = cv2.GaussianBlur(noise[0], (pad, pad), sigmaX=sigma, sigmaY=sigma,
                              borderType=cv2.BORDER_REFLECT_101)[pad:-pad, pad:-pad] * alpha
        dy = cv2.GaussianBlur(noise[1], (pad, pad), sigmaX=sigma, sigmaY=sigma,
                              borderType=cv2.BORDER_REFLECT_101)[pad:-pad, pad:-pad] * alpha
        y, x = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32),
                           indexing="ij")
        map_x, map_y = x - dx, y - dy
        border = {"constant": cv2.BORDER_CONSTANT, "nearest": cv2.BORDER_REPLICATE,
                  "reflect": cv2.BORDER_REFLECT_101, "wrap": cv2.BORDER_WRAP}[mode]
        return map_x, map_y, ORDER_TO_CV2[order], cval, border

    def _image(self, image, params):
        map_x, map_y, order, cval, border = params
        return fgeometric.remap(image, map_x, map_y, order, border, _fill([cval], image.shape[2]))

    def _masks(self, masks, params):
        map_x, map_y = params[:2]
        return fgeometric.remap(masks, map_x, map_y, cv2.INTER_NEAREST, cv2.BORDER_CONSTANT, 0)


def _piecewise_affine_maps(dst, rows, cols, h, w):
    """Maps output pixel -> input ``(x, y)`` that send the regular ``rows x cols`` grid over
    ``[0, w] x [0, h]`` to the points ``dst`` (``[rows * cols, 2]``, (x, y), row-major) and are
    affine on the two triangles of every grid cell (what scikit-image's
    ``PiecewiseAffineTransform`` computes for imgaug, on a triangulation of the grid)."""
    cw, ch = w / (cols - 1), h / (rows - 1)
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float64)
    j = np.minimum((gx // cw).astype(np.int64), cols - 2)
    i = np.minimum((gy // ch).astype(np.int64), rows - 2)
    u, v = gx / cw - j, gy / ch - i
    grid = dst.reshape(rows, cols, 2)
    c00, c01, c10, c11 = grid[i, j], grid[i, j + 1], grid[i + 1, j], grid[i + 1, j + 1]
    lower = (u + v <= 1.0)[..., np.newaxis]
    u, v = u[..., np.newaxis], v[..., np.newaxis]
    first = (1 - u - v) * c00 + u * c01 + v * c10
    second = (u + v - 1) * c11 + (1 - u) * c10 + (1 - v) * c01
    mapped = np.where(lower, first, second)
    return mapped[..., 0].astype(np.float32), mapped[..., 1].astype(np.float32)


def _gaussian_kernel(sigma, ksize):
    import albumentations.augmentations.blur.functional as fblur
    return fblur.create_gaussian_kernel_1d(sigma, ksize).astype(np.float32)


class PiecewiseAffine(Leaf):
    """Local affine distortions on a grid (imgaug's ``iaa.PiecewiseAffine(scale=(0.0, 0.04),
    nb_rows=(2, 4), nb_cols=(2, 4), order=1, cval=0, mode="constant", absolute_scale=False)``;
    albumentations ``PiecewiseAffine`` does the remapping).

    The grid points (spanning ``[0, h] x [0, w]``) are moved by ``N(0, scale)`` times the image
    height/width (pixels if ``absolute_scale``) and clipped to the image, as in imgaug; the
    piecewise-affine map is affine on the two triangles of each grid cell (imgaug computes it
    with scikit-image's ``PiecewiseAffineTransform`` on a Delaunay triangulation of the same
    grid), and the image is remapped with ``order``, masks with nearest neighbour.
    ``polygon_recoverer`` is accepted and ignored.
    """

    geometric = True

    def __init__(self, scale=(0.0, 0.04), nb_rows=(2, 4), nb_cols=(2, 4), order=1, cval=0,
                 mode="constant", absolute_scale=False, polygon_recoverer=None, seed=None,
                 name=None, random_state="deprecated", deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        self.scale = iap.handle_continuous_param(scale, "scale", value_range=(0, None))
        self.jitter = iap.Normal(loc=0, scale=self.scale)
        self.nb_rows = iap.handle_discrete_param(nb_rows, "nb_rows", value_range=(2, None),
                                                 allow_floats=False)
        self.nb_cols = iap.handle_discrete_param(nb_cols, "nb_cols", value_range=(2, None),
                                                 allow_floats=False)
        self.order = _handle_order_arg(order)
        self.cval = _handle_cval_arg(cval)
        self.mode = _handle_mode_arg(mode)
        self.absolute_scale = bool(absolute_scale)
        self.polygon_recoverer = polygon_recoverer

    def get_parameters(self):
        return [self.jitter, self.nb_rows, self.nb_cols, self.order, self.cval, self.mode,
                self.absolute_scale]

    def _draw(self, rng, image):
        rows = max(int(self.nb_rows._draw_samples((1,), rng)[0]), 2)
        cols = max(int(self.nb_cols._draw_samples((1,), rng)[0]), 2)
        order = int(self.order._draw_samples((1,), rng)[0])
        cval = self.cval._draw_samples((1,), rng)
        mode = str(self.mode._draw_samples((1,), rng)[0])
        jitter = self.jitter._draw_samples((rows * cols, 2), rng).astype(np.float64)
        if not np.any(jitter > 0):
            return None
        h, w = image.shape[:2]
        yy, xx = np.meshgrid(np.linspace(0, h, rows), np.linspace(0, w, cols), indexing="ij")
        src = np.stack([xx.ravel(), yy.ravel()], axis=1)  # (x, y), grid over [0, w] x [0, h]
        if self.absolute_scale:
            jitter[:, 0] /= h
            jitter[:, 1] /= w
        dst = src + np.stack([jitter[:, 1] * w, jitter[:, 0] * h], axis=1)
        dst[:, 0] = np.clip(dst[:, 0], 0, w - 1)
        dst[:, 1] = np.clip(dst[:, 1], 0, h - 1)
        map_x, map_y = _piecewise_affine_maps(dst, rows, cols, h, w)
        return map_x, map_y, ORDER_TO_CV2[order], cval, MODE_TO_CV2[mode]

    def _image(self, image, params):
        map_x, map_y, order, cval, mode = params
        return fgeometric.remap(image, map_x, map_y, order, mode, _fill(cval, image.shape[2]))

    def _masks(self, masks, params):
        map_x, map_y = params[:2]
        return fgeometric.remap(masks, map_x, map_y, cv2.INTER_NEAREST, cv2.BORDER_CONSTANT, 0)
