"""imgaug's augmenters (``import imgaug.augmenters as iaa``), executed by albumentations.

``from mrcnn.imgaug_compat import augmenters as iaa`` gives the classes below with imgaug
0.4.0's names, arguments, defaults and semantics. An imgaug augmenter that is not provided
raises ``ImgaugNameNotProvided`` (a ``NotImplementedError``) naming it and the albumentations
transform to use instead, or saying that there is none.
"""

from mrcnn.imgaug_compat.augmenters import (arithmetic, blur, color, contrast,  # noqa: F401
                                            convolutional, flip, geometric, meta, size)
from mrcnn.imgaug_compat.augmenters.arithmetic import (Add, AdditiveGaussianNoise,
                                                       CoarseDropout, Dropout, Invert,
                                                       Multiply)
from mrcnn.imgaug_compat.augmenters.blur import AverageBlur, GaussianBlur, MotionBlur
from mrcnn.imgaug_compat.augmenters.color import (AddToHue, AddToHueAndSaturation,
                                                  AddToSaturation, Grayscale, MultiplyHue,
                                                  MultiplyHueAndSaturation,
                                                  MultiplySaturation)
from mrcnn.imgaug_compat.augmenters.contrast import (ContrastNormalization, GammaContrast,
                                                     LinearContrast)
from mrcnn.imgaug_compat.augmenters.convolutional import Emboss, Sharpen
from mrcnn.imgaug_compat.augmenters.flip import Fliplr, Flipud, HorizontalFlip, VerticalFlip
from mrcnn.imgaug_compat.augmenters.geometric import (Affine, ElasticTransformation,
                                                      PerspectiveTransform, PiecewiseAffine,
                                                      Rot90, Rotate, ScaleX, ScaleY, ShearX,
                                                      ShearY, TranslateX, TranslateY)
from mrcnn.imgaug_compat.augmenters.meta import (Augmenter, Identity, Noop, OneOf, Sequential,
                                                 SomeOf, Sometimes)
from mrcnn.imgaug_compat.augmenters.size import Crop, CropAndPad, Pad, Resize

Scale = Resize  # imgaug's deprecated alias

__all__ = ["Augmenter", "Sequential", "SomeOf", "OneOf", "Sometimes", "Identity", "Noop",
           "Fliplr", "Flipud", "HorizontalFlip", "VerticalFlip", "Affine", "ScaleX", "ScaleY",
           "TranslateX", "TranslateY", "Rotate", "ShearX", "ShearY", "Rot90",
           "PerspectiveTransform", "ElasticTransformation", "PiecewiseAffine", "Crop", "Pad",
           "CropAndPad", "Resize", "Scale", "Add", "Multiply", "AdditiveGaussianNoise",
           "Dropout", "CoarseDropout", "Invert", "GaussianBlur", "AverageBlur", "MotionBlur",
           "LinearContrast", "ContrastNormalization", "GammaContrast", "Grayscale",
           "AddToHueAndSaturation", "AddToHue", "AddToSaturation", "MultiplyHueAndSaturation",
           "MultiplyHue", "MultiplySaturation", "Sharpen", "Emboss", "ImgaugNameNotProvided"]


class ImgaugNameNotProvided(NotImplementedError):
    """An imgaug augmenter that ``mrcnn.imgaug_compat`` does not provide."""


_NONE = None
#: imgaug 0.4.0 augmenters not provided here -> the albumentations transform to use instead
#: (None: albumentations has no equivalent).
ALTERNATIVES = {
    "MedianBlur": "MedianBlur", "BilateralBlur": "AdvancedBlur", "MeanShiftBlur": _NONE,
    "AdditiveLaplaceNoise": "AdditiveNoise(noise_type='laplace')",
    "AdditivePoissonNoise": "ShotNoise", "AddElementwise": "AdditiveNoise",
    "MultiplyElementwise": "MultiplicativeNoise(elementwise=True)",
    "ReplaceElementwise": _NONE, "ImpulseNoise": "SaltAndPepper",
    "SaltAndPepper": "SaltAndPepper", "Salt": "SaltAndPepper", "Pepper": "SaltAndPepper",
    "CoarseSaltAndPepper": "CoarseDropout(fill='random')",
    "CoarseSalt": "CoarseDropout(fill='random')", "CoarsePepper": "CoarseDropout(fill=0)",
    "Cutout": "CoarseDropout", "Dropout2d": "ChannelDropout", "TotalDropout": _NONE,
    "JpegCompression": "ImageCompression", "Solarize": "Solarize", "Posterize": "Posterize",
    "UniformColorQuantization": "Posterize", "UniformColorQuantizationToNBits": "Posterize",
    "KMeansColorQuantization": _NONE, "CLAHE": "CLAHE", "AllChannelsCLAHE": "CLAHE",
    "HistogramEqualization": "Equalize", "AllChannelsHistogramEqualization": "Equalize",
    "SigmoidContrast": "RandomToneCurve", "LogContrast": "RandomGamma",
    "ChannelShuffle": "ChannelShuffle", "ChangeColorTemperature": "PlanckianJitter",
    "AddToBrightness": "RandomBrightnessContrast",
    "MultiplyBrightness": "RandomBrightnessContrast",
    "MultiplyAndAddToBrightness": "RandomBrightnessContrast",
    "RemoveSaturation": "ToGray", "Superpixels": "Superpixels", "Voronoi": _NONE,
    "UniformVoronoi": _NONE, "RegularGridVoronoi": _NONE, "RelativeRegularGridVoronoi": _NONE,
    "Canny": _NONE, "EdgeDetect": _NONE, "DirectedEdgeDetect": _NONE,
    "Convolve": "Lambda (with cv2.filter2D)", "AveragePooling": "Downscale",
    "MaxPooling": "Downscale", "MinPooling": "Downscale", "MedianPooling": "Downscale",
    "Clouds": "RandomFog", "CloudLayer": "RandomFog", "Fog": "RandomFog",
    "Rain": "RandomRain", "RainLayer": "RandomRain", "Snowflakes": "RandomSnow",
    "SnowflakesLayer": "RandomSnow", "FastSnowyLandscape": "RandomSnow",
    "Jigsaw": "RandomGridShuffle", "WithPolarWarping": _NONE, "AffineCv2": "Affine",
    "CropToFixedSize": "RandomCrop", "CenterCropToFixedSize": "CenterCrop",
    "PadToFixedSize": "PadIfNeeded", "CenterPadToFixedSize": "PadIfNeeded",
    "CropToMultiplesOf": "CenterCrop", "CenterCropToMultiplesOf": "CenterCrop",
    "PadToMultiplesOf": "PadIfNeeded(pad_height_divisor=..., pad_width_divisor=...)",
    "CenterPadToMultiplesOf": "PadIfNeeded(pad_height_divisor=..., pad_width_divisor=...)",
    "CropToPowersOf": _NONE, "CenterCropToPowersOf": _NONE, "PadToPowersOf": _NONE,
    "CenterPadToPowersOf": _NONE, "CropToAspectRatio": _NONE,
    "CenterCropToAspectRatio": _NONE, "PadToAspectRatio": _NONE,
    "CenterPadToAspectRatio": _NONE, "CropToSquare": "CenterCrop",
    "CenterCropToSquare": "CenterCrop", "PadToSquare": "PadIfNeeded",
    "CenterPadToSquare": "PadIfNeeded", "KeepSizeByResize": "Resize",
    "BlendAlpha": _NONE, "BlendAlphaMask": _NONE, "BlendAlphaElementwise": _NONE,
    "BlendAlphaSimplexNoise": _NONE, "BlendAlphaFrequencyNoise": _NONE,
    "BlendAlphaSomeColors": _NONE, "BlendAlphaHorizontalLinearGradient": _NONE,
    "BlendAlphaVerticalLinearGradient": _NONE, "BlendAlphaRegularGrid": _NONE,
    "BlendAlphaCheckerboard": _NONE, "BlendAlphaSegMapClassIds": _NONE,
    "BlendAlphaBoundingBoxes": _NONE, "Alpha": _NONE, "AlphaElementwise": _NONE,
    "SimplexNoiseAlpha": _NONE, "FrequencyNoiseAlpha": _NONE,
    "WithChannels": _NONE, "WithColorspace": _NONE, "WithHueAndSaturation": _NONE,
    "WithBrightnessChannels": _NONE, "ChangeColorspace": _NONE, "InColorspace": _NONE,
    "Lambda": "Lambda", "AssertLambda": "Lambda", "AssertShape": "Lambda",
    "Cartoon": _NONE, "RandAugment": _NONE, "SaveDebugImageEveryNBatches": _NONE,
    "ClipCBAsToImagePlanes": _NONE, "RemoveCBAsByOutOfImageFraction": _NONE,
}


def not_provided_message(name, where="mrcnn.imgaug_compat.augmenters"):
    """The message for an imgaug augmenter the compat module does not provide."""
    alt = ALTERNATIVES.get(name)
    if alt is not None:
        return (f"imgaug's {name} is not provided by {where}: use albumentations.{alt} in an "
                f"albumentations.Compose instead (mrcnn's augment() accepts albumentations "
                f"transforms directly).")
    return (f"imgaug's {name} is not provided by {where}, and albumentations has no "
            f"equivalent transform: remove it from the pipeline or write it as a callable "
            f"f(image, mask) -> (image, mask). Provided imgaug augmenters: "
            f"{', '.join(n for n in __all__ if n != 'ImgaugNameNotProvided')}.")


def __getattr__(name):
    if name in ALTERNATIVES or name in ("imgcorruptlike", "pillike", "blend", "weather",
                                        "artistic", "edges", "pooling", "segmentation",
                                        "collections", "debug"):
        raise ImgaugNameNotProvided(not_provided_message(name))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
