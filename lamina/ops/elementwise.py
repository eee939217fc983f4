"""Element-wise NumPy-style ops (``keras.ops.numpy``): arithmetic, powers, exponentials, trigonometry,
rounding, comparisons, logic and bits.

Dtypes follow Keras 3 on torch: float functions of integer or bool tensors compute in floatx; arithmetic
keeps torch's promotion (which equals Keras's for tensors and Python scalars); ops Keras defines through
``result_type`` (``maximum``, ``divide_no_nan``, ``logaddexp``, ``heaviside``...) use it.
"""

import torch

from lamina.dtypes import result_type
from lamina.ops.keras_op import keras_op, unary_op
from lamina.ops.tensors import cast, dtype_name, floatx, operands, to_float, to_tensor, torch_dtype


def _unary(name, class_name, compute, doc):
    return unary_op(name, class_name, "numpy", compute, doc, __name__)


def _binary(name, class_name, compute, doc, bitwise=False):
    """A two-argument op ``name(x1, x2)`` (``name(x, y)`` for bit ops, as Keras names them) computing
    ``compute(a, b)`` on tensors or Python scalars."""
    if bitwise:
        def op(x, y):
            return compute(*operands(x, y))
    else:
        def op(x1, x2):
            return compute(*operands(x1, x2))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    op.__module__ = __name__
    return keras_op(class_name, "numpy")(op)


def _float_unary(torch_fn):
    return lambda x: torch_fn(to_float(x))


def _keep_bool(torch_fn):
    return lambda x: x if x.dtype is torch.bool else torch_fn(x)


# ------------------------------------------------------------------------------------ arithmetic
add = _binary("add", "Add", torch.add, "``x1 + x2`` element-wise, with broadcasting.")
multiply = _binary("multiply", "Multiply", torch.mul, "``x1 * x2`` element-wise, with broadcasting.")


def _subtract(a, b):
    if isinstance(a, torch.Tensor) and a.dtype is torch.bool:
        a = a.to(b.dtype if isinstance(b, torch.Tensor) else torch.int32)
    if isinstance(b, torch.Tensor) and b.dtype is torch.bool:
        b = b.to(a.dtype if isinstance(a, torch.Tensor) else torch.int32)
    return torch.sub(a, b)


subtract = _binary("subtract", "Subtract", _subtract, "``x1 - x2`` element-wise (bool operands count as 0/1).")
divide = _binary("divide", "Divide", torch.true_divide, "``x1 / x2``: true division (integers give floats).")
true_divide = _binary("true_divide", "TrueDivide", torch.true_divide, "Alias of ``divide``.")


def _promoted(*values, floating=False):
    """The Keras ``result_type`` of tensors and Python scalars (weak types), as a torch dtype."""
    types = [dtype_name(v) if isinstance(v, torch.Tensor) else type(v) for v in values]
    if floating:
        types.append(float)
    return torch_dtype(result_type(*types))


def _floor_divide(a, b):
    return cast(torch.floor_divide(a, b), _promoted(a, b))


floor_divide = _binary("floor_divide", "FloorDivide", _floor_divide, "``x1 // x2``: division rounded toward -inf.")


def _remainder(torch_fn):
    def compute(a, b):
        if _promoted(a, b) is torch.bool:
            a, b = cast(a, "int32"), cast(b, "int32")
        return torch_fn(a, b)
    return compute


mod = _binary("mod", "Mod", _remainder(torch.remainder), "``x1 % x2`` with the sign of ``x2`` (NumPy's mod).")
fmod = _binary("fmod", "Fmod", _remainder(torch.fmod), "C's ``fmod``: the remainder with the sign of ``x1``.")
power = _binary("power", "Power", torch.pow, "``x1 ** x2`` element-wise.")


def _extremum(torch_fn):
    def compute(a, b):
        dtype = _promoted(a, b)
        return torch_fn(cast(a, dtype), cast(b, dtype))
    return compute


maximum = _binary("maximum", "Maximum", _extremum(torch.maximum), "Element-wise maximum (NaN propagates).")
minimum = _binary("minimum", "Minimum", _extremum(torch.minimum), "Element-wise minimum (NaN propagates).")
fmax = _binary("fmax", "Fmax", _extremum(torch.fmax), "Element-wise maximum ignoring NaN.")
fmin = _binary("fmin", "Fmin", _extremum(torch.fmin), "Element-wise minimum ignoring NaN.")


def _divide_no_nan(a, b):
    dtype = _promoted(a, b, floating=True)
    a, b = cast(a, dtype), cast(b, dtype)
    zero = b == 0
    return torch.where(zero, torch.zeros((), dtype=dtype, device=b.device), a / torch.where(zero, 1, b))


divide_no_nan = _binary("divide_no_nan", "DivideNoNan", _divide_no_nan, "``x1 / x2``, and 0 where ``x2 == 0``.")


def _float_binary(torch_fn, int64_to_float64=False):
    """A float function of two arguments computed in Keras's ``result_type(x1, x2, float)``."""
    def compute(a, b):
        dtype = _promoted(a, b, floating=not int64_to_float64)
        if int64_to_float64:
            name = {torch.int64: "float64"}.get(dtype, None)
            dtype = torch_dtype(name) if name else dtype if dtype.is_floating_point else floatx()
        return torch_fn(cast(a, dtype), cast(b, dtype))
    return compute


arctan2 = _binary("arctan2", "Arctan2", _float_binary(torch.arctan2), "Element-wise arc tangent of ``x1 / x2``.")
logaddexp = _binary("logaddexp", "Logaddexp", _float_binary(torch.logaddexp), "``log(exp(x1) + exp(x2))``.")
logaddexp2 = _binary("logaddexp2", "Logaddexp2", _float_binary(torch.logaddexp2), "``log2(2**x1 + 2**x2)``.")
hypot = _binary("hypot", "Hypot", _float_binary(torch.hypot, int64_to_float64=True),
                "``sqrt(x1**2 + x2**2)`` element-wise.")
heaviside = _binary("heaviside", "Heaviside", _float_binary(torch.heaviside, int64_to_float64=True),
                    "0 where ``x1 < 0``, ``x2`` where ``x1 == 0``, 1 where ``x1 > 0``.")


def _nextafter(a, b):
    dtype = _promoted(a, b, floating=True)
    return torch.nextafter(cast(a, torch.float64), cast(b, torch.float64)).to(dtype)


nextafter = _binary("nextafter", "Nextafter", _nextafter, "The next float after ``x1`` toward ``x2``.")


def _ldexp(a, b):
    b = to_tensor(b) if not isinstance(b, torch.Tensor) else b
    if b.is_floating_point() or b.is_complex() or b.dtype is torch.bool:
        raise TypeError(f"ldexp: the exponent `x2` must have an integer dtype. Received: x2.dtype={b.dtype}")
    return cast(torch.ldexp(to_tensor(a), b), _promoted(a, b, floating=True))


ldexp = _binary("ldexp", "Ldexp", _ldexp, "``x1 * 2**x2`` element-wise (``x2`` integer).")
gcd = _binary("gcd", "Gcd", torch.gcd, "Greatest common divisor, element-wise (integers).")
lcm = _binary("lcm", "Lcm", torch.lcm, "Least common multiple, element-wise (integers).")

negative = _unary("negative", "Negative", torch.negative, "``-x`` element-wise.")
absolute = _unary("absolute", "Absolute", _keep_bool(torch.abs), "``|x|`` element-wise.")
abs = absolute  # noqa: A001  (Keras's abs records an Absolute node)
fabs = _unary("fabs", "Fabs", lambda x: torch.abs(to_float(x)), "``|x|`` element-wise, as floats.")
sign = _unary("sign", "Sign", torch.sign, "-1, 0 or 1 by the sign of ``x``.")
signbit = _unary("signbit", "Signbit", torch.signbit, "True where the sign bit of ``x`` is set.")
square = _unary("square", "Square", lambda x: torch.square(x.to(torch.int32) if x.dtype is torch.bool else x),
                "``x * x`` element-wise.")
reciprocal = _unary("reciprocal", "Reciprocal", torch.reciprocal, "``1 / x`` element-wise.")


def _sqrt(x):
    return torch.sqrt(x.to(floatx()) if x.dtype is torch.int64 else x)


sqrt = _unary("sqrt", "Sqrt", _sqrt, "Element-wise square root (integers give floats).")


def _cbrt(x):
    if x.dtype is torch.bool:
        x = x.to(torch.int32)
    elif x.dtype is torch.int64:
        x = x.to(torch.float64)
    return torch.sign(x) * torch.abs(x) ** (1.0 / 3.0)


cbrt = _unary("cbrt", "Cbrt", _cbrt, "Element-wise cube root.")

# ------------------------------------------------------------------------ exponentials and logs
exp = _unary("exp", "Exp", _float_unary(torch.exp), "``e**x`` element-wise.")
exp2 = _unary("exp2", "Exp2", _float_unary(torch.exp2), "``2**x`` element-wise.")
expm1 = _unary("expm1", "Expm1", _float_unary(torch.expm1), "``exp(x) - 1``, accurate near 0.")
log = _unary("log", "Log", torch.log, "Natural logarithm, element-wise.")
log2 = _unary("log2", "Log2", torch.log2, "Base-2 logarithm, element-wise.")
log10 = _unary("log10", "Log10", torch.log10, "Base-10 logarithm, element-wise.")
log1p = _unary("log1p", "Log1p", torch.log1p, "``log(1 + x)``, accurate near 0.")

# ------------------------------------------------------------------------------ trigonometry
sin = _unary("sin", "Sin", torch.sin, "Sine, element-wise.")
cos = _unary("cos", "Cos", torch.cos, "Cosine, element-wise.")
tan = _unary("tan", "Tan", torch.tan, "Tangent, element-wise.")
arcsin = _unary("arcsin", "Arcsin", torch.arcsin, "Inverse sine, element-wise.")
arccos = _unary("arccos", "Arccos", torch.arccos, "Inverse cosine, element-wise.")
arctan = _unary("arctan", "Arctan", torch.arctan, "Inverse tangent, element-wise.")
sinh = _unary("sinh", "Sinh", torch.sinh, "Hyperbolic sine, element-wise.")
cosh = _unary("cosh", "Cosh", torch.cosh, "Hyperbolic cosine, element-wise.")
tanh = _unary("tanh", "Tanh", torch.tanh, "Hyperbolic tangent, element-wise.")
arcsinh = _unary("arcsinh", "Arcsinh", torch.arcsinh, "Inverse hyperbolic sine, element-wise.")
arccosh = _unary("arccosh", "Arccosh", torch.arccosh, "Inverse hyperbolic cosine, element-wise.")
arctanh = _unary("arctanh", "Arctanh", torch.arctanh, "Inverse hyperbolic tangent, element-wise.")
sinc = _unary("sinc", "Sinc", torch.sinc, "``sin(pi x) / (pi x)``, element-wise (1 at 0).")


def _angle_unit(torch_fn):
    return lambda x: torch_fn(x).to(torch.float64) if x.dtype is torch.int64 else torch_fn(x)


deg2rad = _unary("deg2rad", "Deg2rad", _angle_unit(torch.deg2rad), "Degrees to radians.")
rad2deg = _unary("rad2deg", "Rad2deg", _angle_unit(torch.rad2deg), "Radians to degrees.")


def _i0(x):
    if x.dtype in (torch.int64, torch.float64):
        return torch.i0(x.to(torch.float64))
    return torch.i0(x if x.dtype in (torch.float16, torch.bfloat16) else x.to(floatx()))


i0 = _unary("i0", "I0", _i0, "Modified Bessel function of the first kind, order 0.")

# ---------------------------------------------------------------------------------- rounding


def _rounded(torch_fn):
    """ceil/floor: floats of Keras's ``result_type(x, float)`` (int64 gives floatx)."""
    def compute(x):
        dtype = floatx() if x.dtype is torch.int64 else torch_dtype(result_type(dtype_name(x), float))
        return torch_fn(x.to(dtype))
    return compute


ceil = _unary("ceil", "Ceil", _rounded(torch.ceil), "The smallest integer >= x, as a float.")
floor = _unary("floor", "Floor", _rounded(torch.floor), "The largest integer <= x, as a float.")
trunc = _unary("trunc", "Trunc", _keep_bool(torch.trunc), "``x`` rounded toward 0.")


@keras_op("Round", "numpy", config=("decimals",))
def round(x, decimals=0):  # noqa: A001
    """``x`` rounded to ``decimals`` decimals, halves to even (integers keep their dtype)."""
    x = to_tensor(x)
    if x.is_floating_point():
        return torch.round(x, decimals=decimals)
    if x.dtype is torch.bool:
        return x
    return torch.round(x.to(floatx()), decimals=decimals).to(x.dtype)


@keras_op("Clip", "numpy", config=("x_min", "x_max"))
def clip(x, x_min, x_max):
    """``x`` limited to [``x_min``, ``x_max``] (bool inputs give int32)."""
    x = to_tensor(x)
    if x.dtype is torch.bool:
        x = x.to(torch.int32)
    if isinstance(x_min, torch.Tensor) or isinstance(x_max, torch.Tensor):
        return torch.clamp(x, min=to_tensor(x_min, device=x.device) if x_min is not None else None,
                           max=to_tensor(x_max, device=x.device) if x_max is not None else None)
    return torch.clamp(x, min=x_min, max=x_max)


@keras_op("NanToNum", "numpy", config=("nan", "posinf", "neginf"))
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN replaced by ``nan``, infinities by ``posinf``/``neginf`` (default: the dtype's extremes)."""
    return torch.nan_to_num(to_tensor(x), nan=nan, posinf=posinf, neginf=neginf)


# ------------------------------------------------------------------------------ comparisons
equal = _binary("equal", "Equal", torch.eq, "``x1 == x2`` element-wise.")
not_equal = _binary("not_equal", "NotEqual", torch.ne, "``x1 != x2`` element-wise.")
less = _binary("less", "Less", torch.lt, "``x1 < x2`` element-wise.")
less_equal = _binary("less_equal", "LessEqual", torch.le, "``x1 <= x2`` element-wise.")
greater = _binary("greater", "Greater", torch.gt, "``x1 > x2`` element-wise.")
greater_equal = _binary("greater_equal", "GreaterEqual", torch.ge, "``x1 >= x2`` element-wise.")


def _close_operands(x1, x2):
    x1, x2 = to_tensor(x1), to_tensor(x2)
    dtype = _promoted(x1, x2)
    return cast(x1, dtype), cast(x2, dtype)


@keras_op("Isclose", "numpy", config=("equal_nan",))
def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """``|x1 - x2| <= atol + rtol * |x2|`` element-wise (exact equality for non-floats)."""
    x1, x2 = _close_operands(x1, x2)
    if x1.is_floating_point():
        return torch.isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return torch.eq(x1, x2)


@keras_op("AllClose", "numpy", config=("rtol", "atol", "equal_nan"))
def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether every element of ``x1`` is close to ``x2`` (see ``isclose``), as a bool tensor."""
    x1, x2 = _close_operands(x1, x2)
    if x1.is_floating_point():
        return torch.all(torch.isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan))
    return torch.all(torch.eq(x1, x2))


isfinite = _unary("isfinite", "Isfinite", torch.isfinite, "True where ``x`` is finite.")
isinf = _unary("isinf", "Isinf", torch.isinf, "True where ``x`` is +-inf.")
isnan = _unary("isnan", "Isnan", torch.isnan, "True where ``x`` is NaN.")
isneginf = _unary("isneginf", "Isneginf", torch.isneginf, "True where ``x`` is -inf.")
isposinf = _unary("isposinf", "Isposinf", torch.isposinf, "True where ``x`` is +inf.")
isreal = _unary("isreal", "Isreal", torch.isreal, "True where ``x`` has no imaginary part.")

# ------------------------------------------------------------------------------------- logic
logical_and = _binary("logical_and", "LogicalAnd", torch.logical_and, "``x1 and x2`` element-wise.")
logical_or = _binary("logical_or", "LogicalOr", torch.logical_or, "``x1 or x2`` element-wise.")
logical_xor = _binary("logical_xor", "LogicalXor", torch.logical_xor, "``x1 xor x2`` element-wise.")
logical_not = _unary("logical_not", "LogicalNot", torch.logical_not, "``not x`` element-wise.")

# -------------------------------------------------------------------------------------- bits
bitwise_and = _binary("bitwise_and", "BitwiseAnd", torch.bitwise_and, "``x & y`` (integers, bools).", bitwise=True)
bitwise_or = _binary("bitwise_or", "BitwiseOr", torch.bitwise_or, "``x | y`` (integers, bools).", bitwise=True)
bitwise_xor = _binary("bitwise_xor", "BitwiseXor", torch.bitwise_xor, "``x ^ y`` (integers, bools).", bitwise=True)
bitwise_left_shift = _binary("bitwise_left_shift", "BitwiseLeftShift", torch.bitwise_left_shift,
                             "``x << y`` (integers).", bitwise=True)
bitwise_right_shift = _binary("bitwise_right_shift", "BitwiseRightShift", torch.bitwise_right_shift,
                              "``x >> y`` (integers).", bitwise=True)
left_shift = _binary("left_shift", "LeftShift", torch.bitwise_left_shift, "``x << y`` (integers).", bitwise=True)
right_shift = _binary("right_shift", "RightShift", torch.bitwise_right_shift, "``x >> y`` (integers).", bitwise=True)
bitwise_invert = _unary("bitwise_invert", "BitwiseInvert", torch.bitwise_not, "``~x`` (integers, bools).")
bitwise_not = _unary("bitwise_not", "BitwiseNot", torch.bitwise_not, "``~x`` (integers, bools).")

# ------------------------------------------------------------------------------ complex numbers


conjugate = _unary("conjugate", "Conjugate", lambda x: torch.conj(x).resolve_conj(), "The complex conjugate.")
conj = _unary("conj", "Conj", lambda x: torch.conj(x).resolve_conj(), "The complex conjugate.")
real = _unary("real", "Real", torch.real, "The real part.")
imag = _unary("imag", "Imag", torch.imag, "The imaginary part.")
angle = _unary("angle", "Angle", torch.angle, "The complex argument (0 or pi for reals).")
