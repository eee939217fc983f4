"""``lamina.ops.numpy``: the NumPy-like ops, as ``keras.ops.numpy``."""

from lamina.ops.elementwise import (  # noqa: F401
    abs, absolute, add, allclose, angle, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh,
    bitwise_and, bitwise_invert, bitwise_left_shift, bitwise_not, bitwise_or, bitwise_right_shift,
    bitwise_xor, cbrt, ceil, clip, conj, conjugate, cos, cosh, deg2rad, divide, divide_no_nan, equal,
    exp, exp2, expm1, fabs, floor, floor_divide, fmax, fmin, fmod, gcd, greater, greater_equal,
    heaviside, hypot, i0, imag, isclose, isfinite, isinf, isnan, isneginf, isposinf, isreal, lcm, ldexp,
    left_shift, less, less_equal, log, log10, log1p, log2, logaddexp, logaddexp2, logical_and,
    logical_not, logical_or, logical_xor, maximum, minimum, mod, multiply, nan_to_num, negative,
    nextafter, not_equal, power, rad2deg, real, reciprocal, right_shift, round, sign, signbit, sin,
    sinc, sinh, sqrt, square, subtract, tan, tanh, true_divide, trunc
)
from lamina.ops.reductions import (  # noqa: F401
    all, amax, amin, any, argmax, argmin, argpartition, argsort, average, count_nonzero, cumprod,
    cumsum, max, mean, median, min, nanargmax, nanargmin, nancumprod, nancumsum, nanmax, nanmean,
    nanmedian, nanmin, nanpercentile, nanprod, nanquantile, nanstd, nansum, nanvar, percentile, prod,
    ptp, quantile, sort, std, sum, var
)
from lamina.ops.arrays import (  # noqa: F401
    append, arange, array, array_split, bartlett, bincount, blackman, broadcast_to, concatenate, copy,
    diag, diagflat, diagonal, diff, digitize, dsplit, dstack, empty, empty_like, expand_dims, eye, flip,
    fliplr, flipud, full, full_like, geomspace, get_item, hamming, hanning, histogram, hsplit, hstack,
    identity, isin, kaiser, linspace, logspace, meshgrid, moveaxis, ndim, nonzero, ones, ones_like, pad,
    ravel, repeat, reshape, roll, rot90, searchsorted, select, size, split, squeeze, stack, swapaxes,
    take, take_along_axis, tile, trace, transpose, trapezoid, tri, tril, triu, unique, unravel_index,
    vander, view, vsplit, vstack, where, zeros, zeros_like
)
from lamina.ops.products import (  # noqa: F401
    corrcoef, correlate, cross, dot, einsum, inner, kron, matmul, outer, tensordot, vdot
)
from lamina.ops.linalg import (  # noqa: F401
    slogdet
)
from lamina.ops.core import (  # noqa: F401
    vectorize
)
