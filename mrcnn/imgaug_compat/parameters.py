"""Stochastic parameters with imgaug's names and semantics (``imgaug.parameters`` as ``iap``).

An imgaug augmenter argument such as ``rotate=(-45, 45)`` becomes a stochastic parameter:
a number becomes ``Deterministic``, a tuple ``(a, b)`` ``Uniform(a, b)`` (``DiscreteUniform`` for
integer arguments), a list ``Choice(list)``; a ``StochasticParameter`` is used as is. These are
the ``handle_*`` functions below, with imgaug 0.4.0's rules. Each parameter draws samples with
``draw_samples(size, random_state)``; as in imgaug, the arguments of a distribution (e.g. the
``scale`` of ``Normal``) are themselves parameters drawn once per ``draw_samples`` call.

Provided: ``Deterministic``, ``DeterministicList``, ``Choice``, ``Binomial``,
``DiscreteUniform``, ``Poisson``, ``Normal``, ``TruncatedNormal``, ``Laplace``, ``ChiSquare``,
``Weibull``, ``Uniform``, ``Beta``, ``Clip``, ``Discretize``, ``Multiply``, ``Divide``, ``Add``,
``Subtract``, ``Power``, ``Absolute``, ``RandomSign``, ``ForceSign``, ``Positive``, ``Negative``
and the arithmetic operators on parameters (``p * 2``, ``1 - p``, ``-p``, ...). Other imgaug
parameters (noise generators such as ``SimplexNoise``, ``FrequencyNoise``, ``Sigmoid``,
``IterativeNoiseAggregator``, ``FromLowerResolution`` as a public class) raise an
``AttributeError`` that names them.

Samples are NumPy arrays; integer samples are int32 and float samples float32, as in imgaug.
"""

import numpy as np

from mrcnn.imgaug_compat.random import as_generator

__all__ = ["StochasticParameter", "Deterministic", "DeterministicList", "Choice", "Binomial",
           "DiscreteUniform", "Poisson", "Normal", "TruncatedNormal", "Laplace", "ChiSquare",
           "Weibull", "Uniform", "Beta", "Clip", "Discretize", "Multiply", "Divide", "Add",
           "Subtract", "Power", "Absolute", "RandomSign", "ForceSign", "Positive", "Negative",
           "handle_continuous_param", "handle_discrete_param", "handle_probability_param",
           "handle_categorical_string_param", "handle_discrete_kernel_size_param"]

ALL = "ALL"


def is_single_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and \
        not isinstance(value, (bool, np.bool_))


def is_single_integer(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _fmt(value):
    return repr(value) if not isinstance(value, StochasticParameter) else str(value)


class StochasticParameter:
    """Base class: a random variable that draws NumPy arrays of samples (imgaug's API)."""

    def draw_sample(self, random_state=None):
        """One sample (a NumPy scalar)."""
        return self.draw_samples(1, random_state=random_state)[0]

    def draw_samples(self, size, random_state=None):
        """Samples of shape ``size`` (int or tuple), from ``random_state`` (None: the global
        generator of ``mrcnn.imgaug_compat.random``; an int seed; a NumPy generator)."""
        size = (int(size),) if is_single_integer(size) else tuple(int(s) for s in size)
        return self._draw_samples(size, as_generator(random_state))

    def _draw_samples(self, size, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        return self.__str__()

    def __str__(self):
        return type(self).__name__ + "()"

    # arithmetic, as imgaug: returns new parameters
    def __add__(self, other):
        return Add(self, other)

    def __radd__(self, other):
        return Add(Deterministic(other), self)

    def __sub__(self, other):
        return Subtract(self, other)

    def __rsub__(self, other):
        return Subtract(Deterministic(other), self)

    def __mul__(self, other):
        return Multiply(self, other)

    def __rmul__(self, other):
        return Multiply(Deterministic(other), self)

    def __truediv__(self, other):
        return Divide(self, other)

    def __rtruediv__(self, other):
        return Divide(Deterministic(other), self)

    def __pow__(self, other):
        return Power(self, other)

    def __rpow__(self, other):
        return Power(Deterministic(other), self)

    def __neg__(self):
        return Multiply(self, -1)

    def __abs__(self):
        return Absolute(self)


def _as_dtype32(samples):
    samples = np.asarray(samples)
    if samples.dtype.kind == "f" and samples.dtype != np.float32:
        return samples.astype(np.float32)
    if samples.dtype.kind == "i" and samples.dtype != np.int32:
        return samples.astype(np.int32)
    return samples


class Deterministic(StochasticParameter):
    """Always the same value (a number or a string)."""

    def __init__(self, value):
        if isinstance(value, StochasticParameter):
            value = value.draw_sample()
        elif not (is_single_number(value) or isinstance(value, str)):
            raise TypeError(f"Deterministic expects a number or a string, got "
                            f"{type(value).__name__}")
        self.value = value

    def _draw_samples(self, size, rng):
        if is_single_integer(self.value):
            return np.full(size, self.value, dtype=np.int32)
        if is_single_number(self.value):
            return np.full(size, self.value, dtype=np.float32)
        return np.full(size, self.value)

    def __str__(self):
        return f"Deterministic({self.value!r})"


class DeterministicList(StochasticParameter):
    """The given values in order (repeated when more samples are requested)."""

    def __init__(self, values):
        values = np.asarray(values).ravel()
        if values.size == 0:
            raise ValueError("DeterministicList needs at least one value")
        self.values = _as_dtype32(values)

    def _draw_samples(self, size, rng):
        n = int(np.prod(size))
        values = np.resize(self.values, n) if n > self.values.size else self.values[:n]
        return values.reshape(size)

    def __str__(self):
        return f"DeterministicList({self.values.tolist()!r})"


class Choice(StochasticParameter):
    """Values picked from the list ``a`` (with probabilities ``p``; entries may be parameters)."""

    def __init__(self, a, replace=True, p=None):
        if isinstance(a, (str, bytes)) or not hasattr(a, "__len__") or len(a) == 0:
            raise ValueError(f"Choice expects a non-empty list of values, got {a!r}")
        if p is not None and len(p) != len(a):
            raise ValueError(f"Choice: a and p must have the same length, got {len(a)} and "
                             f"{len(p)}")
        self.a = list(a)
        self.replace = replace
        self.p = None if p is None else np.asarray(p, dtype=np.float64)

    def _draw_samples(self, size, rng):
        if any(isinstance(v, StochasticParameter) for v in self.a):
            idx = rng.choice(len(self.a), size=size, replace=self.replace, p=self.p)
            out = np.empty(size, dtype=object)
            for i, v in enumerate(self.a):
                sel = idx == i
                if sel.any():
                    out[sel] = v.draw_samples(int(sel.sum()), rng) \
                        if isinstance(v, StochasticParameter) else v
            return _as_dtype32(np.array(out.tolist()))
        return _as_dtype32(rng.choice(np.asarray(self.a), size=size, replace=self.replace,
                                      p=self.p))

    def __str__(self):
        p = None if self.p is None else self.p.tolist()
        return f"Choice(a={self.a!r}, replace={self.replace}, p={p})"


class Binomial(StochasticParameter):
    """0/1 samples that are 1 with probability ``p`` (``p`` drawn once per call)."""

    def __init__(self, p):
        self.p = handle_continuous_param(p, "p")

    def _draw_samples(self, size, rng):
        p = float(self.p.draw_sample(rng))
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Binomial: probability p must be in [0, 1], got {p}")
        if p == 0.0 or p == 1.0:
            return np.full(size, int(p), dtype=np.int32)
        return (rng.random(size) < p).astype(np.int32)

    def __str__(self):
        return f"Binomial({self.p})"


class DiscreteUniform(StochasticParameter):
    """Integers in ``[a, b]`` (both included; swapped if ``a > b``)."""

    def __init__(self, a, b):
        self.a = handle_discrete_param(a, "a")
        self.b = handle_discrete_param(b, "b")

    def _draw_samples(self, size, rng):
        a = int(self.a.draw_sample(rng))
        b = int(self.b.draw_sample(rng))
        if a > b:
            a, b = b, a
        if a == b:
            return np.full(size, a, dtype=np.int32)
        return rng.integers(a, b + 1, size, dtype=np.int32)

    def __str__(self):
        return f"DiscreteUniform({self.a}, {self.b})"


class Uniform(StochasticParameter):
    """Floats uniform in ``[a, b)`` (swapped if ``a > b``)."""

    def __init__(self, a, b):
        self.a = handle_continuous_param(a, "a")
        self.b = handle_continuous_param(b, "b")

    def _draw_samples(self, size, rng):
        a = float(self.a.draw_sample(rng))
        b = float(self.b.draw_sample(rng))
        if a > b:
            a, b = b, a
        if a == b:
            return np.full(size, a, dtype=np.float32)
        return rng.uniform(a, b, size).astype(np.float32)

    def __str__(self):
        return f"Uniform({self.a}, {self.b})"


class _TwoArg(StochasticParameter):
    _names = ("loc", "scale")

    def __init__(self, loc, scale):
        self.loc = handle_continuous_param(loc, "loc")
        self.scale = handle_continuous_param(scale, "scale", value_range=(0, None))

    def _draw_samples(self, size, rng):
        loc = float(self.loc.draw_sample(rng))
        scale = float(self.scale.draw_sample(rng))
        if scale < 0:
            raise ValueError(f"{type(self).__name__}: scale must be >= 0, got {scale}")
        if scale == 0:
            return np.full(size, loc, dtype=np.float32)
        return self._sample(rng, loc, scale, size).astype(np.float32)

    def __str__(self):
        return f"{type(self).__name__}(loc={self.loc}, scale={self.scale})"


class Normal(_TwoArg):
    """Gaussian samples ``N(loc, scale)``."""

    @staticmethod
    def _sample(rng, loc, scale, size):
        return rng.normal(loc, scale, size)


class Laplace(_TwoArg):
    """Laplace samples."""

    @staticmethod
    def _sample(rng, loc, scale, size):
        return rng.laplace(loc, scale, size)


class TruncatedNormal(StochasticParameter):
    """Gaussian samples truncated to ``[low, high]``."""

    def __init__(self, loc, scale, low=-np.inf, high=np.inf):
        self.loc = handle_continuous_param(loc, "loc")
        self.scale = handle_continuous_param(scale, "scale", value_range=(0, None))
        self.low = handle_continuous_param(low, "low")
        self.high = handle_continuous_param(high, "high")

    def _draw_samples(self, size, rng):
        import scipy.stats
        loc, scale = float(self.loc.draw_sample(rng)), float(self.scale.draw_sample(rng))
        low, high = float(self.low.draw_sample(rng)), float(self.high.draw_sample(rng))
        if low > high:
            low, high = high, low
        if scale == 0:
            return np.full(size, loc, dtype=np.float32)
        dist = scipy.stats.truncnorm(a=(low - loc) / scale, b=(high - loc) / scale, loc=loc,
                                     scale=scale)
        return dist.rvs(size=size, random_state=rng).astype(np.float32)

    def __str__(self):
        return (f"TruncatedNormal(loc={self.loc}, scale={self.scale}, low={self.low}, "
                f"high={self.high})")


class Poisson(StochasticParameter):
    """Poisson samples (int32)."""

    def __init__(self, lam):
        self.lam = handle_continuous_param(lam, "lam")

    def _draw_samples(self, size, rng):
        return rng.poisson(max(float(self.lam.draw_sample(rng)), 0.0), size).astype(np.int32)


class ChiSquare(StochasticParameter):
    """Chi-square samples."""

    def __init__(self, df):
        self.df = handle_discrete_param(df, "df", value_range=(1, None))

    def _draw_samples(self, size, rng):
        return rng.chisquare(int(self.df.draw_sample(rng)), size).astype(np.float32)


class Weibull(StochasticParameter):
    """Weibull samples."""

    def __init__(self, a):
        self.a = handle_continuous_param(a, "a", value_range=(0.0001, None))

    def _draw_samples(self, size, rng):
        return rng.weibull(float(self.a.draw_sample(rng)), size).astype(np.float32)


class Beta(StochasticParameter):
    """Beta samples."""

    def __init__(self, alpha, beta, epsilon=0.0001):
        self.alpha = handle_continuous_param(alpha, "alpha")
        self.beta = handle_continuous_param(beta, "beta")
        self.epsilon = float(epsilon)

    def _draw_samples(self, size, rng):
        a = max(float(self.alpha.draw_sample(rng)), self.epsilon)
        b = max(float(self.beta.draw_sample(rng)), self.epsilon)
        return rng.beta(a, b, size).astype(np.float32)


def _require_param(name, value):
    if not isinstance(value, StochasticParameter):
        raise TypeError(f"{name} must be a StochasticParameter, got {type(value).__name__}")


class Clip(StochasticParameter):
    """Samples of ``other_param`` clipped to ``[minval, maxval]``."""

    def __init__(self, other_param, minval=None, maxval=None):
        _require_param("Clip(other_param)", other_param)
        self.other_param, self.minval, self.maxval = other_param, minval, maxval

    def _draw_samples(self, size, rng):
        samples = self.other_param._draw_samples(size, rng)
        if self.minval is None and self.maxval is None:
            return samples
        return np.clip(samples, self.minval, self.maxval)

    def __str__(self):
        return f"Clip({self.other_param}, {self.minval}, {self.maxval})"


class Discretize(StochasticParameter):
    """Samples of ``other_param`` rounded (or truncated) to integers."""

    def __init__(self, other_param, round=True):  # noqa: A002 - imgaug's argument name
        _require_param("Discretize(other_param)", other_param)
        self.other_param, self.round = other_param, round

    def _draw_samples(self, size, rng):
        samples = self.other_param._draw_samples(size, rng)
        if samples.dtype.kind in "uib":
            return samples
        return (np.round(samples) if self.round else samples).astype(np.int32)


class _Arithmetic(StochasticParameter):
    def __init__(self, other_param, val, elementwise=False):
        self.other_param = handle_continuous_param(other_param, "other_param")
        self.val = handle_continuous_param(val, "val")
        self.elementwise = elementwise

    def _draw_samples(self, size, rng):
        samples = self.other_param._draw_samples(size, rng)
        if self.elementwise and not isinstance(self.val, Deterministic):
            val = self.val._draw_samples(size, rng)
        else:
            val = self.val._draw_samples((1,), rng)[0]
        return _as_dtype32(self._op(samples, val))

    def __str__(self):
        return f"{type(self).__name__}({self.other_param}, {self.val}, {self.elementwise})"


class Multiply(_Arithmetic):
    """``other_param * val``."""
    _op = staticmethod(np.multiply)


class Divide(_Arithmetic):
    """``other_param / val`` (a zero divisor is replaced by 1, as in imgaug)."""

    @staticmethod
    def _op(a, b):
        b = np.where(np.asarray(b) == 0, 1, b)
        return np.true_divide(a, b)


class Add(_Arithmetic):
    """``other_param + val``."""
    _op = staticmethod(np.add)


class Subtract(_Arithmetic):
    """``other_param - val``."""
    _op = staticmethod(np.subtract)


class Power(_Arithmetic):
    """``other_param ** val`` (real part, as in imgaug)."""

    @staticmethod
    def _op(a, b):
        a = np.asarray(a, dtype=np.float64)
        return np.power(a.astype(np.complex128), b).real


class Absolute(StochasticParameter):
    """``abs(other_param)``."""

    def __init__(self, other_param):
        _require_param("Absolute(other_param)", other_param)
        self.other_param = other_param

    def _draw_samples(self, size, rng):
        return np.absolute(self.other_param._draw_samples(size, rng))


class RandomSign(StochasticParameter):
    """``abs(other_param)`` with a random sign (positive with probability ``p_positive``)."""

    def __init__(self, other_param, p_positive=0.5):
        _require_param("RandomSign(other_param)", other_param)
        if not 0.0 <= p_positive <= 1.0:
            raise ValueError(f"RandomSign: p_positive must be in [0, 1], got {p_positive}")
        self.other_param, self.p_positive = other_param, p_positive

    def _draw_samples(self, size, rng):
        samples = self.other_param._draw_samples(size, rng)
        signs = np.where(rng.random(size) < self.p_positive, 1, -1)
        return np.absolute(samples) * signs.astype(samples.dtype)


class ForceSign(StochasticParameter):
    """Samples forced to be positive (or negative): ``mode="invert"`` flips the sign of wrong
    ones, ``mode="reroll"`` redraws them up to ``reroll_count_max`` times, then flips."""

    def __init__(self, other_param, positive, mode="invert", reroll_count_max=2):
        _require_param("ForceSign(other_param)", other_param)
        if mode not in ("invert", "reroll"):
            raise ValueError(f"ForceSign: mode must be 'invert' or 'reroll', got {mode!r}")
        self.other_param, self.positive = other_param, positive
        self.mode, self.reroll_count_max = mode, reroll_count_max

    def _draw_samples(self, size, rng):
        samples = self.other_param._draw_samples(size, rng)
        wrong = (samples < 0) if self.positive else (samples > 0)
        if self.mode == "reroll":
            for _ in range(self.reroll_count_max):
                if not wrong.any():
                    break
                samples[wrong] = self.other_param._draw_samples((int(wrong.sum()),), rng)
                wrong = (samples < 0) if self.positive else (samples > 0)
        samples[wrong] *= -1
        return samples


def Positive(other_param, mode="invert", reroll_count_max=2):  # noqa: N802 - imgaug's name
    """``ForceSign(other_param, positive=True, ...)``."""
    return ForceSign(other_param, True, mode, reroll_count_max)


def Negative(other_param, mode="invert", reroll_count_max=2):  # noqa: N802 - imgaug's name
    """``ForceSign(other_param, positive=False, ...)``."""
    return ForceSign(other_param, False, mode, reroll_count_max)


# --------------------------------------------------------------------------------------------
# imgaug's argument conventions
def _check_range(value, name, value_range):
    if value_range is None:
        return
    low, high = value_range
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name}: {value} is outside the allowed range "
                         f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]")


def _bad_type(name, param, what):
    return TypeError(f"{name}: expected {what} or a StochasticParameter, got "
                     f"{type(param).__name__} ({param!r})")


def handle_continuous_param(param, name, value_range=None, tuple_to_uniform=True,
                            list_to_choice=True):
    """A number -> ``Deterministic``; ``(a, b)`` -> ``Uniform(a, b)``; a list -> ``Choice``; a
    ``StochasticParameter`` as is (imgaug's rule for float arguments).

    Raises:
        ValueError: a value outside ``value_range``, a tuple of other than two numbers.
        TypeError: any other type.
    """
    if is_single_number(param):
        _check_range(param, name, value_range)
        return Deterministic(param)
    if tuple_to_uniform and isinstance(param, tuple):
        if len(param) != 2 or not all(is_single_number(v) for v in param):
            raise ValueError(f"{name}: a tuple must be two numbers (a, b), got {param!r}")
        for v in param:
            _check_range(v, name, value_range)
        return Uniform(param[0], param[1])
    if list_to_choice and isinstance(param, (list, np.ndarray)):
        if not all(is_single_number(v) for v in param):
            raise ValueError(f"{name}: a list must contain only numbers, got {param!r}")
        for v in param:
            _check_range(v, name, value_range)
        return Choice(list(param))
    if isinstance(param, StochasticParameter):
        return param
    raise _bad_type(name, param, "a number, a tuple (a, b)" + (", a list" if list_to_choice
                                                                else ""))


def handle_discrete_param(param, name, value_range=None, tuple_to_uniform=True,
                          list_to_choice=True, allow_floats=True):
    """Like ``handle_continuous_param`` for integer arguments: ``(a, b)`` ->
    ``DiscreteUniform(a, b)``; floats are truncated to ints when ``allow_floats``."""
    ok = is_single_number if allow_floats else is_single_integer
    if ok(param):
        _check_range(param, name, value_range)
        return Deterministic(int(param))
    if tuple_to_uniform and isinstance(param, tuple):
        if len(param) != 2 or not all(ok(v) for v in param):
            raise ValueError(f"{name}: a tuple must be two {'numbers' if allow_floats else 'ints'}"
                             f" (a, b), got {param!r}")
        for v in param:
            _check_range(v, name, value_range)
        return DiscreteUniform(int(param[0]), int(param[1]))
    if list_to_choice and isinstance(param, (list, np.ndarray)):
        if not all(ok(v) for v in param):
            raise ValueError(f"{name}: a list must contain only "
                             f"{'numbers' if allow_floats else 'ints'}, got {param!r}")
        for v in param:
            _check_range(v, name, value_range)
        return Choice([int(v) for v in param])
    if isinstance(param, StochasticParameter):
        return param
    raise _bad_type(name, param, "an int, a tuple (a, b)" + (", a list" if list_to_choice else ""))


def handle_probability_param(param, name, tuple_to_uniform=False, list_to_choice=False):
    """A probability: True/False/0/1 -> ``Deterministic``, a float in (0, 1) -> ``Binomial``;
    a tuple -> ``Binomial(Uniform(a, b))`` and a list -> ``Binomial(Choice(list))`` where
    allowed; a ``StochasticParameter`` as is."""
    eps = 1e-6
    if isinstance(param, (bool, np.bool_)):
        return Deterministic(int(param))
    if is_single_number(param):
        if not 0.0 <= param <= 1.0:
            raise ValueError(f"{name}: a probability must be in [0, 1], got {param}")
        if abs(param) < eps or abs(param - 1.0) < eps:
            return Deterministic(int(round(param)))
        return Binomial(param)
    if tuple_to_uniform and isinstance(param, tuple):
        if len(param) != 2 or not all(is_single_number(v) and 0 <= v <= 1 for v in param):
            raise ValueError(f"{name}: a tuple must be two probabilities (a, b), got {param!r}")
        return Binomial(Uniform(param[0], param[1]))
    if list_to_choice and isinstance(param, list):
        if not all(is_single_number(v) and 0 <= v <= 1 for v in param):
            raise ValueError(f"{name}: a list must contain probabilities, got {param!r}")
        return Binomial(Choice(param))
    if isinstance(param, StochasticParameter):
        return param
    raise _bad_type(name, param, "a probability (bool or number in [0, 1])")


def handle_categorical_string_param(param, name, valid_values=None):
    """A string -> ``Deterministic``; a list of strings -> ``Choice``; ``imgaug.ALL`` -> all
    ``valid_values``; a ``StochasticParameter`` as is."""
    if param == ALL and valid_values is not None:
        return Choice(list(valid_values))
    values = [param] if isinstance(param, str) else param
    if isinstance(values, list) and all(isinstance(v, str) for v in values) and values:
        if valid_values is not None:
            bad = [v for v in values if v not in valid_values]
            if bad:
                raise ValueError(f"{name}: {bad[0]!r} is not supported; use one of "
                                 f"{', '.join(sorted(valid_values))}")
        return Deterministic(param) if isinstance(param, str) else Choice(values)
    if isinstance(param, StochasticParameter):
        return param
    raise _bad_type(name, param, "a string, a list of strings" +
                    (", imgaug.ALL" if valid_values is not None else ""))


def handle_discrete_kernel_size_param(param, name, value_range=(1, None), allow_floats=True):
    """Kernel sizes: returns ``(param_for_height, param_for_width_or_None)`` (imgaug's rule:
    an int or ``(a, b)`` of ints gives one parameter for both axes; a tuple of two tuples or of
    two parameters gives one per axis; a list gives ``Choice``)."""
    ok = is_single_number if allow_floats else is_single_integer
    if ok(param):
        _check_range(param, name, value_range)
        return Deterministic(int(param)), None
    if isinstance(param, tuple):
        if len(param) != 2:
            raise ValueError(f"{name}: a tuple must have two entries, got {param!r}")
        if all(ok(v) for v in param):
            for v in param:
                _check_range(v, name, value_range)
            return DiscreteUniform(int(param[0]), int(param[1])), None
        if all(isinstance(v, StochasticParameter) for v in param):
            return param[0], param[1]
        return (handle_discrete_param(param[0], f"{name}[0]", value_range,
                                      allow_floats=allow_floats),
                handle_discrete_param(param[1], f"{name}[1]", value_range,
                                      allow_floats=allow_floats))
    if isinstance(param, list):
        if not all(ok(v) for v in param):
            raise ValueError(f"{name}: a list must contain only numbers, got {param!r}")
        for v in param:
            _check_range(v, name, value_range)
        return Choice([int(v) for v in param]), None
    if isinstance(param, StochasticParameter):
        return param, None
    raise _bad_type(name, param, "an int, a tuple (a, b), a tuple of two tuples, a list")


_NOT_PROVIDED = ("SimplexNoise", "FrequencyNoise", "IterativeNoiseAggregator", "Sigmoid",
                 "FromLowerResolution")


def __getattr__(name):
    if name in _NOT_PROVIDED:
        raise AttributeError(
            f"mrcnn.imgaug_compat.parameters does not provide imgaug's {name}: use one of "
            f"{', '.join(__all__[1:26])}, or write the augmentation with albumentations")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
