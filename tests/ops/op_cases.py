"""The differential table of ``lamina.ops`` against ``keras.ops`` (torch backend): one line per case.

``C(name, *args, **options)``: ``args`` are shapes (tuples; an array of the case's dtype is drawn for
each) or literal values (``L(value)``); a case runs once per dtype in ``dtypes``. Both libraries get the
same torch tensors; values, shapes and dtypes must agree. ``symbolic=True`` (the default for ops that
take tensors) also builds the op on symbolic inputs in both and compares the recorded node and config.
"""

from dataclasses import dataclass, field

import numpy as np

F32 = ("float32",)
FLOATS = ("float32", "float16")
NUMERIC = ("float32", "int32")
ALL = ("float32", "int32", "bool")
INTS = ("int32", "int64")


@dataclass
class L:
    """A literal argument, passed unchanged to both libraries."""
    value: object


@dataclass
class A:
    """An array argument given by keyword: ``A(shape)`` draws one of the case's dtype."""
    shape: tuple


@dataclass
class C:
    name: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    dtypes: tuple = F32
    domain: str = "any"          # "any" [-2, 2], "positive" (0.1, 2), "unit" (-0.9, 0.9), "prob" (0.05, 0.95)
    tolerance: float = 1e-5
    symbolic: bool = True
    check: str = "values"        # "values", "shapes" (nondeterministic values), or a custom key
    namespace: str = ""          # "", "nn", "linalg", "image": where Keras exports it
    # Where Keras's torch backend departs from Keras's rule (docs/keras_torch_departures.md): a NumPy
    # function of the same arguments gives the expected values instead.
    reference: object = None

    def __init__(self, name, *args, dtypes=F32, domain="any", tolerance=1e-5, symbolic=True, check="values",
                 namespace="", reference=None, **kwargs):
        self.name, self.args, self.kwargs, self.dtypes = name, args, kwargs, dtypes
        self.domain, self.tolerance, self.symbolic, self.check, self.namespace, self.reference = \
            domain, tolerance, symbolic, check, namespace, reference


def array(shape, dtype, domain, rng):
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if "int" in dtype:
        low, high = {"positive": (1, 6), "prob": (0, 2)}.get(domain, (-5, 6))
        return rng.integers(low, high, shape).astype(dtype)
    low, high = {"positive": (0.1, 2.0), "unit": (-0.9, 0.9), "prob": (0.05, 0.95)}.get(domain, (-2.0, 2.0))
    return rng.uniform(low, high, shape).astype(dtype)


UNARY_ALL = ["abs", "absolute", "negative", "sign", "square", "exp", "exp2", "expm1", "sin", "cos", "tanh",
             "arctan", "sinh", "floor", "ceil", "trunc", "round", "fabs", "isfinite", "isnan", "isinf", "signbit",
             "logical_not", "sqrt", "cbrt", "deg2rad", "rad2deg", "copy", "ravel", "transpose", "fliplr",
             "flipud", "nonzero", "zeros_like", "ones_like", "relu", "sigmoid", "isneginf", "isposinf"]
UNARY_FLOAT = ["tan", "arcsinh", "sinc", "relu6", "softplus", "softsign", "silu", "swish", "log_sigmoid",
               "hard_sigmoid", "hard_silu", "hard_swish", "selu", "tanh_shrink", "hard_tanh", "sparse_sigmoid",
               "sparse_plus", "erf", "erfc", "i0", "reciprocal", "cosh"]
UNARY_POSITIVE = ["log", "log2", "log10", "log1p", "rsqrt"]
UNARY_UNIT = ["arcsin", "arccos", "arctanh", "erfinv"]
BINARY_ALL = ["add", "multiply", "maximum", "minimum", "equal", "not_equal", "less", "less_equal", "greater",
              "greater_equal", "logical_and", "logical_or", "logical_xor", "fmax", "fmin"]
BINARY_NUMERIC = ["subtract", "divide", "true_divide", "divide_no_nan", "floor_divide", "arctan2", "hypot",
                  "logaddexp", "logaddexp2", "heaviside", "nextafter", "isclose", "allclose", "matmul", "dot",
                  "inner", "outer", "kron", "mod", "fmod"]
REDUCTIONS = ["sum", "mean", "max", "min", "amax", "amin", "all", "any", "prod", "std", "var", "argmax", "argmin",
              "nanmax", "nanmin", "nansum", "nanmean", "nanvar", "nanstd", "nanprod", "median", "nanmedian", "ptp",
              "logsumexp", "count_nonzero", "nanargmax", "nanargmin"]


def cases():
    table = []
    add = table.append
    for name in UNARY_ALL:
        # nonzero's symbolic spec: Keras says a tuple of (None,) tensors, its torch backend returns one
        # (ndim, count) tensor; lamina's spec describes what it returns (the eager Keras-torch value).
        add(C(name, (3, 4), dtypes=ALL if name not in ("sqrt", "cbrt", "round") else ("float32", "int32"),
              symbolic=name != "nonzero"))
    for name in UNARY_FLOAT:
        add(C(name, (3, 4), dtypes=FLOATS if name not in ("i0", "erfc", "erf") else F32, tolerance=2e-3))
    for name in UNARY_POSITIVE:
        add(C(name, (3, 4), dtypes=("float32", "int32"), domain="positive"))
    for name in UNARY_UNIT:
        add(C(name, (3, 4), domain="unit"))
    add(C("arccosh", L(np.array([1.0, 1.5, 3.0], "float32"))))
    for name in BINARY_ALL:
        add(C(name, (3, 4), (3, 4), dtypes=ALL))
        add(C(name, (2, 3, 4), (4,)))
    for name in BINARY_NUMERIC:
        shapes = {"matmul": ((3, 4), (4, 5)), "dot": ((3, 4), (4, 5)), "inner": ((3, 4), (5, 4))}.get(
            name, ((3, 4), (3, 4)))
        add(C(name, *shapes, dtypes=NUMERIC, domain="positive" if name in ("mod", "fmod", "floor_divide")
              else "any", tolerance=1e-4))
    add(C("matmul", (2, 3, 4), (2, 4, 5)))
    add(C("matmul", (2, 3, 4), (4,)))
    add(C("dot", (2, 3, 4), (4, 5)))
    add(C("dot", (2, 3, 4), (3, 4, 2), reference=np.dot))
    add(C("dot", (3,), (3,), dtypes=NUMERIC))
    add(C("vdot", (3, 2), (3, 2), dtypes=NUMERIC, reference=np.vdot))
    add(C("vdot", (4,), (4,), dtypes=NUMERIC))
    add(C("power", (3, 4), (3, 4), domain="positive", dtypes=("float32", "int32")))
    add(C("gcd", (3, 4), (3, 4), dtypes=INTS))
    add(C("lcm", (3, 4), (3, 4), dtypes=INTS))
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        add(C(name, (3, 4), (3, 4), dtypes=("int32", "bool")))
    for name in ("bitwise_left_shift", "bitwise_right_shift", "left_shift", "right_shift"):
        add(C(name, (3, 4), (3, 4), dtypes=("int32",), domain="prob"))
    add(C("bitwise_invert", (3, 4), dtypes=("int32", "bool")))
    add(C("bitwise_not", (3, 4), dtypes=("int32", "bool")))
    add(C("ldexp", (3, 4), L(np.array([1, 2, 3, 0], dtype="int32"))))
    # Python scalars with tensors (weak types)
    for name in ("add", "multiply", "subtract", "maximum", "power", "divide"):
        add(C(name, (3, 4), L(2), dtypes=ALL if name != "subtract" else NUMERIC, symbolic=False))
        add(C(name, (3, 4), L(1.5), dtypes=ALL if name != "subtract" else NUMERIC, symbolic=False))
    for name in REDUCTIONS:
        dtypes = ALL if name in ("sum", "all", "any", "max", "min", "amax", "amin", "count_nonzero", "argmax",
                                 "argmin", "mean", "prod") else F32
        add(C(name, (3, 4, 2), dtypes=dtypes, tolerance=1e-4))
        if name not in ("count_nonzero", "nanargmax", "nanargmin", "argmax", "argmin"):
            add(C(name, (3, 4, 2), axis=1, keepdims=True, tolerance=1e-4))
            add(C(name, (3, 4, 2), axis=(0, 2), tolerance=1e-4))
        else:
            add(C(name, (3, 4, 2), axis=1, reference=lambda x, axis: np.count_nonzero(x, axis=axis))
                if name == "count_nonzero" else C(name, (3, 4, 2), axis=1))
    add(C("max", (3, 4), axis=0, initial=0.5))
    add(C("min", (3, 4), axis=None, keepdims=True, initial=-0.5, reference=np.min))
    add(C("count_nonzero", (3, 4), axis=(0, 1), dtypes=("int32",)))
    for name in ("quantile", "nanquantile"):
        add(C(name, (4, 5), L(0.3)))
        add(C(name, (4, 5), L(np.array([0.1, 0.9], dtype="float32")), axis=1, keepdims=True))
    for name in ("percentile", "nanpercentile"):
        add(C(name, (4, 5), L(40.0), axis=0))
    add(C("average", (3, 4)))
    add(C("average", (3, 4), axis=1, weights=L(np.array([1.0, 2.0, 3.0, 4.0], dtype="float32")), symbolic=False))
    for name in ("cumsum", "cumprod", "nancumsum", "nancumprod"):
        add(C(name, (3, 4), dtypes=NUMERIC))
        add(C(name, (3, 4), axis=1))
    add(C("sort", (3, 4), dtypes=NUMERIC))
    add(C("sort", (3, 4), axis=0))
    add(C("argsort", (3, 4), dtypes=NUMERIC))
    add(C("argpartition", (3, 6), L(2), check="partition", symbolic=False))
    add(C("top_k", (3, 6), L(2), reference=lambda x, k: (-np.sort(-x)[..., :k], np.argsort(-x, kind="stable")[..., :k])))
    add(C("in_top_k", L(np.array([0, 3, 1])), (3, 5), L(2)))
    add(C("clip", (3, 4), L(-0.5), L(0.5), dtypes=NUMERIC))
    add(C("nan_to_num", L(np.array([np.nan, np.inf, -np.inf, 1.0], dtype="float32")), posinf=9.0))
    add(C("where", (3, 4), (3, 4), (3, 4), dtypes=("bool",)))
    add(C("where", L(np.array([True, False, True])), (3,), (3,)))
    add(C("where", L(np.array([[True, False], [False, True]])), check="values"))
    add(C("select", L([np.array([True, False]), np.array([False, True])]), L([np.array([1.0, 2.0]),
                                                                               np.array([3.0, 4.0])]), L(0.0)))
    # creation
    add(C("zeros", L((2, 3)), symbolic=False))
    add(C("ones", L((2, 3)), dtype="int32", symbolic=False))
    add(C("full", L((2, 3)), L(1.5), symbolic=False))
    add(C("full_like", (2, 3), L(7), dtypes=NUMERIC))
    add(C("eye", L(3), symbolic=False))
    add(C("eye", L(3), L(4), k=1, symbolic=False))
    add(C("identity", L(3), dtype="int32", symbolic=False))
    add(C("tri", L(3), L(4), k=-1, symbolic=False))
    add(C("tril", (4, 4), k=1))
    add(C("triu", (4, 4), k=-1))
    add(C("arange", L(5), symbolic=False))
    add(C("arange", L(1), L(7), L(2), symbolic=False))
    add(C("arange", L(0.5), L(3.0), L(0.5), symbolic=False))
    add(C("linspace", L(0.0), L(1.0), num=5, symbolic=False))
    add(C("linspace", L(0.0), L(1.0), num=5, endpoint=False, symbolic=False))
    add(C("logspace", L(0.0), L(2.0), num=4, symbolic=False, tolerance=1e-4))
    add(C("geomspace", L(1.0), L(100.0), num=3, symbolic=False, tolerance=1e-4))
    add(C("array", L([[1, 2], [3, 4]]), symbolic=False))
    add(C("convert_to_tensor", L([1.5, 2.0]), symbolic=False))
    add(C("convert_to_tensor", L(3), symbolic=False))
    add(C("bartlett", L(5), symbolic=False))
    add(C("blackman", L(5), symbolic=False))
    add(C("hamming", L(5), symbolic=False))
    add(C("hanning", L(5), symbolic=False))
    add(C("kaiser", L(5), L(3.0), symbolic=False, tolerance=1e-4))
    add(C("diag", (4,)))
    add(C("diag", (3, 3), k=1))
    add(C("diagflat", (3,), k=-1))
    add(C("diagonal", (3, 4, 2), offset=1, axis1=0, axis2=1))
    add(C("trace", (3, 4), dtypes=ALL))
    add(C("vander", (4,), N=3))
    add(C("meshgrid", (3,), (2,)))
    add(C("meshgrid", (3,), (2,), indexing="ij"))
    # shapes
    add(C("reshape", (3, 4), L((2, 6)), dtypes=ALL))
    add(C("reshape", (3, 4), L((-1,))))
    add(C("transpose", (2, 3, 4), axes=(1, 0, 2)))
    add(C("expand_dims", (3, 4), L(1)))
    add(C("expand_dims", (3, 4), L((0, 3))))
    add(C("squeeze", (3, 1, 4, 1)))
    add(C("squeeze", (3, 1, 4, 1), axis=1))
    add(C("flip", (3, 4), axis=1))
    add(C("flip", (3, 4)))
    add(C("rot90", (3, 4)))
    add(C("rot90", (2, 3, 4), k=3, axes=(1, 2)))
    add(C("moveaxis", (2, 3, 4), L(0), L(-1)))
    add(C("swapaxes", (2, 3, 4), L(0), L(2)))
    add(C("broadcast_to", (3, 1), L((2, 3, 4))))
    add(C("tile", (2, 3), L((2, 2))))
    add(C("repeat", (2, 3), L(2), axis=1, dtypes=ALL))
    add(C("repeat", (2, 3), L(2)))
    add(C("repeat", (2, 3), L([1, 2]), axis=0, reference=np.repeat))
    add(C("roll", (3, 4), L(1), axis=1))
    add(C("roll", (3, 4), L(-2)))
    add(C("ndim", (3, 4), symbolic=False))
    add(C("size", (3, 4), symbolic=False))
    add(C("shape", (3, 4), symbolic=False))
    add(C("concatenate", L([np.ones((2, 3), "float32"), np.zeros((2, 2), "float32")]), axis=1))
    add(C("stack", L([np.ones((2, 3), "float32"), np.zeros((2, 3), "float32")]), axis=1))
    add(C("hstack", L([np.ones((2, 3), "float32"), np.zeros((2, 2), "float32")])))
    add(C("vstack", L([np.ones((2, 3), "float32"), np.zeros((1, 3), "float32")])))
    add(C("dstack", L([np.ones((2, 3), "float32"), np.zeros((2, 3), "float32")])))
    add(C("append", (2, 3), (2, 3)))
    add(C("append", (2, 3), (1, 3), axis=0))
    add(C("split", (4, 6), L(2), axis=1))
    add(C("split", (6, 2), L([1, 4])))
    add(C("array_split", (5, 2), L(2)))
    add(C("hsplit", (2, 4), L(2)))
    add(C("vsplit", (4, 2), L(2)))
    add(C("dsplit", (2, 2, 4), L(2)))
    add(C("unstack", (3, 4), axis=1))
    add(C("pad", (3, 4), L(((1, 2), (2, 1))), dtypes=NUMERIC))
    for mode in ("reflect", "symmetric", "edge", "wrap"):
        add(C("pad", (3, 4), L(((1, 2), (2, 1))), mode=mode, dtypes=NUMERIC, symbolic=False, reference=np.pad))
        add(C("pad", (2, 3, 4), L(((0, 0), (1, 2), (2, 1))), mode=mode, symbolic=False, reference=np.pad))
    add(C("pad", (3, 4), L(((1, 1), (0, 2))), constant_values=L(3.0)))
    add(C("pad", (2, 3, 4), L(1), reference=np.pad, symbolic=False))
    # indexing
    add(C("take", (5, 3), L(np.array([0, 2, -1])), axis=0))
    add(C("take", (3, 5), L(np.array([[0, 1], [4, 2]])), axis=1))
    add(C("take", (3, 5), L(np.array([1, 7]))))
    add(C("take_along_axis", (3, 4), L(np.array([[0], [1], [3]])), axis=1))
    add(C("get_item", (3, 4), L(1)))
    add(C("unravel_index", L(np.array([1, 5, 7])), L((2, 4))))
    add(C("searchsorted", L(np.array([1.0, 2.0, 3.0], "float32")), (4,)))
    add(C("searchsorted", L(np.array([1.0, 2.0, 3.0], "float32")), L(np.array([2.0], "float32")), side="right"))
    add(C("digitize", (5,), L(np.array([-1.0, 0.0, 1.0], "float32"))))
    add(C("bincount", L(np.array([0, 1, 1, 4])), minlength=6))
    add(C("bincount", L(np.array([0, 1, 1])), weights=L(np.array([0.5, 1.0, 2.0], "float32"))))
    add(C("isin", (4,), L(np.array([0.0, 1.0], "float32")), dtypes=("int32",)))
    add(C("unique", L(np.array([3, 1, 3, 2])), symbolic=False))
    add(C("unique", L(np.array([3, 1, 3, 2])), return_counts=True, return_inverse=True, symbolic=False))
    add(C("unique", L(np.array([3, 1, 3, 2])), size=5, fill_value=-1, symbolic=False))
    add(C("histogram", (10,), bins=4))
    add(C("diff", (3, 5)))
    add(C("diff", (3, 5), n=2, axis=0))
    add(C("trapezoid", (3, 5)))
    add(C("trapezoid", (3, 5), dx=0.5, axis=0))
    add(C("correlate", (5,), (3,)))
    add(C("correlate", (5,), (3,), mode="same"))
    add(C("correlate", (5,), (3,), mode="full"))
    add(C("corrcoef", (3, 5), symbolic=False))  # Keras's symbolic spec says (3, 5); the result is (3, 3)
    add(C("cross", (4, 3), (4, 3)))
    add(C("tensordot", (2, 3, 4), (3, 4, 5)))
    add(C("tensordot", (2, 3), (3, 4), axes=1))
    add(C("tensordot", (2, 3, 4), (4, 3), axes=L(([1, 2], [1, 0]))))
    add(C("einsum", L("ij,jk->ik"), (2, 3), (3, 4)))
    add(C("einsum", L("bij->bji"), (2, 3, 4)))
    add(C("view", (2, 4), dtype="int32", symbolic=False))
    add(C("cast", (3, 4), L("int32"), dtypes=("float32", "bool")))
    add(C("saturate_cast", L(np.array([-300.0, 5.5, 300.0], "float32")), L("uint8")))
    add(C("stop_gradient", (3,)))
    add(C("slice", (4, 5), L([1, 2]), L([2, 2])))
    add(C("slice_update", (4, 5), L([1, 2]), L(np.ones((2, 2), "float32"))))
    add(C("scatter", L(np.array([[0, 1], [2, 3]])), L(np.array([1.0, 2.0], "float32")), L((3, 4))))
    add(C("scatter_update", (3, 4), L(np.array([[0, 1], [2, 3]])), L(np.array([5.0, 6.0], "float32"))))
    add(C("scatter_update", (3, 4), L(np.array([[0, 1], [0, 1]])), L(np.array([5.0, 6.0], "float32")),
          reduction="add", symbolic=False))
    add(C("scatter_update", (3, 4), L(np.array([[0, 1], [2, 2]])), L(np.array([5.0, -6.0], "float32")),
          reduction="max", symbolic=False))
    add(C("segment_sum", (5, 3), L(np.array([0, 0, 1, 2, 2])), num_segments=3))
    add(C("segment_max", (5, 3), L(np.array([0, 0, 1, 2, 2])), num_segments=3))
    add(C("segment_min", (5,), L(np.array([0, 1, 1, 3, 3])), num_segments=4, symbolic=False))
    add(C("segment_prod", (5,), L(np.array([0, 1, 1, 2, 2])), num_segments=3))
    # math
    add(C("extract_sequences", (2, 10), L(4), L(2)))
    add(C("fft", L((np.ones((2, 4), "float32"), np.arange(8, dtype="float32").reshape(2, 4))), symbolic=False))
    add(C("fft2", L((np.ones((2, 4), "float32"), np.arange(8, dtype="float32").reshape(2, 4))), symbolic=False))
    add(C("ifft2", L((np.ones((2, 4), "float32"), np.arange(8, dtype="float32").reshape(2, 4))), symbolic=False))
    add(C("rfft", (2, 8)))
    add(C("rfft", (2, 8), fft_length=6))
    add(C("irfft", L((np.ones((2, 5), "float32"), np.arange(10, dtype="float32").reshape(2, 5))), symbolic=False,
          tolerance=1e-4))
    add(C("stft", (2, 32), L(8), L(4), L(8), tolerance=1e-4))
    add(C("stft", (32,), L(8), L(4), L(16), window="hamming", center=False, tolerance=1e-4))
    add(C("istft", L((np.ones((3, 5), "float32"), np.zeros((3, 5), "float32"))), L(8), L(4), L(8),
          symbolic=False, tolerance=1e-4))
    add(C("logdet", L(np.array([[2.0, 0.5], [0.5, 1.0]], "float32"))))
    add(C("cdist", (2, 3, 4), (2, 5, 4), tolerance=1e-4))
    add(C("view_as_real", L(np.array([1 + 2j, 3 - 1j], "complex64")), symbolic=False))
    add(C("view_as_complex", (3, 2), symbolic=False))
    for name in ("real", "imag", "conj", "conjugate", "angle"):
        add(C(name, L(np.array([1 + 2j, -3 - 1j], "complex64")), symbolic=False))
    add(C("angle", (3,)))
    add(C("isreal", (3,)))
    # nn
    add(C("softmax", (3, 4), namespace="nn", dtypes=FLOATS, tolerance=1e-3))
    add(C("softmax", (3, 4, 2), axis=(1, 2), namespace="nn"))
    add(C("softmax", (3, 4), axis=None, namespace="nn"))
    add(C("log_softmax", (3, 4), axis=0, namespace="nn"))
    add(C("sparsemax", (3, 5), namespace="nn"))
    for name, kw in (("leaky_relu", {"negative_slope": 0.1}), ("elu", {"alpha": 0.5}), ("celu", {"alpha": 2.0}),
                     ("gelu", {}), ("gelu", {"approximate": False}), ("glu", {}), ("soft_shrink", {}),
                     ("hard_shrink", {"threshold": 1.0}), ("squareplus", {"b": 2})):
        add(C(name, (3, 4), namespace="nn", tolerance=1e-4, **kw))
    add(C("threshold", (3, 4), L(0.5), L(-1.0), namespace="nn"))
    add(C("one_hot", L(np.array([0, 2, -1, 1])), L(3), namespace="nn"))
    add(C("one_hot", L(np.array([[0, 2], [1, 1]])), L(3), axis=0, dtype="int32", namespace="nn"))
    add(C("multi_hot", L(np.array([[0, 2], [1, 1]])), L(4), namespace="nn"))
    add(C("binary_crossentropy", (3, 4), (3, 4), domain="prob", namespace="nn", tolerance=1e-4))
    add(C("binary_crossentropy", (3, 4), (3, 4), domain="prob", from_logits=True, namespace="nn", tolerance=1e-4))
    add(C("categorical_crossentropy", (3, 4), (3, 4), domain="prob", namespace="nn", tolerance=1e-4))
    add(C("categorical_crossentropy", (3, 4), (3, 4), domain="prob", from_logits=True, namespace="nn",
          tolerance=1e-4))
    add(C("sparse_categorical_crossentropy", L(np.array([0, 3, 1])), (3, 4), domain="prob", namespace="nn",
          tolerance=1e-4))
    add(C("sparse_categorical_crossentropy", L(np.array([[0], [3], [1]])), (3, 4), from_logits=True,
          namespace="nn", tolerance=1e-4))
    add(C("moments", (3, 4, 2), L([0, 1]), namespace="nn", tolerance=1e-4))
    add(C("moments", (3, 4), L([1]), keepdims=True, namespace="nn", tolerance=1e-4))
    add(C("batch_normalization", (3, 4), (4,), (4,), L(1), offset=A((4,)), scale=A((4,)), domain="positive",
          namespace="nn", tolerance=1e-4))
    add(C("layer_normalization", (3, 4), namespace="nn", tolerance=1e-4))
    add(C("layer_normalization", (3, 4, 5), (4, 5), (4, 5), axis=(1, 2), namespace="nn", tolerance=1e-4))
    add(C("layer_normalization", (3, 4, 5), axis=1, namespace="nn", tolerance=1e-4, reference=lambda x, axis: (
        x - x.mean(axis, keepdims=True)) / np.sqrt(x.var(axis, keepdims=True) + 1e-7)))
    add(C("rms_normalization", (3, 4), namespace="nn", tolerance=1e-4))
    add(C("rms_normalization", (3, 4), scale=A((4,)), namespace="nn", tolerance=1e-4))
    add(C("normalize", (3, 4), namespace="nn", tolerance=1e-4))
    add(C("normalize", (3, 4), axis=0, order=1, namespace="nn", tolerance=1e-4))
    add(C("psnr", (3, 4), (3, 4), L(2.0), namespace="nn", tolerance=1e-4))
    add(C("polar", (3,), (3,), namespace="nn", symbolic=False))
    for padding in ("valid", "same"):
        for strides in (1, 2):
            add(C("conv", (2, 7, 3), (3, 3, 4), strides=strides, padding=padding, namespace="nn", tolerance=1e-4))
            add(C("conv", (2, 6, 7, 3), (3, 2, 3, 4), strides=strides, padding=padding, namespace="nn",
                  tolerance=1e-4))
            add(C("depthwise_conv", (2, 6, 7, 3), (3, 3, 3, 2), strides=strides, padding=padding, namespace="nn",
                  tolerance=1e-4))
            add(C("conv_transpose", (2, 5, 6, 3), (3, 3, 4, 3), strides=strides, padding=padding, namespace="nn",
                  tolerance=1e-4))
            add(C("max_pool", (2, 7, 6, 3), L(3), strides=strides, padding=padding, namespace="nn"))
            add(C("average_pool", (2, 8, 6, 3), L(2), strides=strides, padding=padding, namespace="nn"))
    add(C("conv", (2, 3, 7, 6), (3, 3, 3, 4), data_format="channels_first", dilation_rate=2, namespace="nn",
          tolerance=1e-4))
    add(C("conv", (2, 6, 7, 4), (3, 3, 2, 6), namespace="nn", tolerance=1e-4, symbolic=False))
    add(C("conv", (1, 5, 5, 5, 2), (2, 2, 2, 2, 3), namespace="nn", tolerance=1e-4))
    add(C("separable_conv", (2, 6, 7, 3), (3, 3, 3, 2), (1, 1, 6, 4), padding="same", namespace="nn",
          tolerance=1e-4))
    add(C("conv_transpose", (2, 5, 3), (3, 4, 3), strides=2, output_padding=1, namespace="nn", tolerance=1e-4))
    add(C("max_pool", (2, 7, 3), L(2), namespace="nn"))
    add(C("average_pool", (2, 3, 6, 6), L((2, 3)), data_format="channels_first", namespace="nn"))
    add(C("adaptive_average_pool", (2, 7, 6, 3), L((2, 3)), namespace="nn", symbolic=False))
    add(C("adaptive_max_pool", (2, 7, 6, 3), L(2), namespace="nn", symbolic=False))
    add(C("adaptive_average_pool", (2, 3, 7), L(4), data_format="channels_first", namespace="nn", symbolic=False))
    add(C("unfold", (2, 3, 5, 5), L(2), namespace="nn"))
    add(C("fold", (2, 12, 16), L((5, 5)), L(2), namespace="nn"))
    add(C("depth_to_space", (2, 3, 3, 8), L(2), namespace="nn"))
    add(C("space_to_depth", (2, 4, 6, 3), L(2), namespace="nn"))
    add(C("space_to_depth", (2, 3, 4, 6), L(2), data_format="channels_first", namespace="nn"))
    add(C("dot_product_attention", (2, 5, 2, 4), (2, 6, 2, 4), (2, 6, 2, 4), namespace="nn", tolerance=1e-4))
    add(C("dot_product_attention", (2, 5, 4, 4), (2, 5, 2, 4), (2, 5, 2, 4), is_causal=True, namespace="nn",
          tolerance=1e-4))
    add(C("dot_product_attention", (2, 5, 2, 4), (2, 5, 2, 4), (2, 5, 2, 4),
          mask=L(np.tril(np.ones((5, 5), bool))), scale=0.3, namespace="nn", tolerance=1e-4, symbolic=False))
    add(C("ctc_loss", L(np.array([[1, 2, 0], [2, 0, 0]])), (2, 6, 4), L(np.array([2, 1])), L(np.array([6, 5])),
          namespace="nn", tolerance=1e-4))
    add(C("ctc_decode", (2, 6, 4), L(np.array([6, 4])), namespace="nn", tolerance=1e-4))
    add(C("ctc_decode", (2, 6, 4), L(np.array([6, 4])), merge_repeated=False, mask_index=3, namespace="nn"))
    add(C("ctc_decode", (2, 5, 3), L(np.array([5, 3])), strategy="beam_search", beam_width=4, top_paths=2,
          namespace="nn", tolerance=1e-4, symbolic=False))
    # linalg
    spd = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]], "float32")
    add(C("cholesky", L(spd), namespace="linalg", tolerance=1e-4))
    add(C("cholesky", L(spd), upper=True, namespace="linalg", tolerance=1e-4))
    add(C("cholesky_inverse", L(np.linalg.cholesky(spd).astype("float32")), namespace="linalg", tolerance=1e-4))
    add(C("det", L(spd), namespace="linalg", tolerance=1e-4))
    add(C("inv", L(spd), namespace="linalg", tolerance=1e-4))
    add(C("eigh", L(spd), namespace="linalg", tolerance=1e-4, check="eigh"))
    add(C("eig", L(spd), namespace="linalg", tolerance=1e-4, check="eig", symbolic=False))
    add(C("lu_factor", L(spd), namespace="linalg", tolerance=1e-4))
    add(C("norm", (3, 4), namespace="linalg", tolerance=1e-4, dtypes=NUMERIC))
    add(C("norm", (3, 4), ord=1, axis=1, keepdims=True, namespace="linalg", tolerance=1e-4))
    add(C("norm", (3, 4), ord="fro", axis=(0, 1), namespace="linalg", tolerance=1e-4))
    add(C("qr", L(spd), namespace="linalg", tolerance=1e-4))
    add(C("solve", L(spd), (3, 2), namespace="linalg", tolerance=1e-4))
    add(C("solve_triangular", L(np.triu(spd)), (3,), namespace="linalg", tolerance=1e-4))
    add(C("solve_triangular", L(np.tril(spd)), (3, 2), lower=True, namespace="linalg", tolerance=1e-4))
    add(C("svd", L(spd), namespace="linalg", tolerance=1e-4, check="svd"))
    add(C("svd", L(spd), compute_uv=False, namespace="linalg", tolerance=1e-4))
    add(C("lstsq", (5, 3), (5, 2), namespace="linalg", tolerance=1e-3))
    add(C("matrix_rank", L(spd), namespace="linalg"))
    add(C("pinv", (4, 3), namespace="linalg", tolerance=1e-4))
    add(C("slogdet", L(spd), tolerance=1e-4))
    # image
    add(C("resize", (2, 6, 8, 3), L((3, 4)), namespace="image", tolerance=1e-4))
    add(C("resize", (6, 8, 3), L((12, 5)), interpolation="nearest", namespace="image"))
    add(C("resize", (2, 6, 8, 3), L((5, 7)), interpolation="bicubic", antialias=True, namespace="image",
          tolerance=1e-4))
    add(C("resize", (2, 6, 8, 3), L((4, 4)), crop_to_aspect_ratio=True, namespace="image", tolerance=1e-4))
    add(C("resize", (2, 6, 8, 3), L((4, 4)), pad_to_aspect_ratio=True, namespace="image", tolerance=1e-4))
    add(C("resize", (2, 3, 6, 8), L((3, 4)), data_format="channels_first", namespace="image", tolerance=1e-4))
    add(C("rgb_to_grayscale", (2, 4, 5, 3), domain="prob", namespace="image"))
    add(C("rgb_to_hsv", (2, 4, 5, 3), domain="prob", namespace="image", tolerance=1e-4))
    add(C("hsv_to_rgb", (2, 4, 5, 3), domain="prob", namespace="image", tolerance=1e-4))
    add(C("rgb_to_grayscale", (2, 3, 4, 5), domain="prob", data_format="channels_first", namespace="image"))
    transform = np.array([[1.0, 0.2, -1.0, 0.1, 0.9, 0.5, 0.0, 0.0], [0.8, 0.0, 1.0, 0.0, 1.1, -0.5, 0.0, 0.0]],
                         "float32")
    for fill in ("constant", "nearest", "wrap", "mirror", "reflect"):
        add(C("affine_transform", (2, 5, 6, 2), L(transform), fill_mode=fill, namespace="image", tolerance=1e-4))
    add(C("affine_transform", (2, 5, 6, 2), L(transform), interpolation="nearest", namespace="image"))
    coordinates = np.array([[0.5, 1.7, -1.0], [2.2, 0.0, 3.5]], "float32")
    add(C("map_coordinates", (4, 5), L(coordinates), L(1), namespace="image", tolerance=1e-4))
    add(C("map_coordinates", (4, 5), L(coordinates), L(0), fill_mode="wrap", namespace="image"))
    add(C("perspective_transform", (2, 6, 6, 1), L(np.array([[0, 0], [5, 0], [0, 5], [5, 5]], "float32")),
          L(np.array([[1, 0], [5, 1], [0, 4], [4, 5]], "float32")), namespace="image", tolerance=1e-3))
    add(C("gaussian_blur", (2, 6, 7, 3), data_format="channels_last", namespace="image", tolerance=1e-4))
    add(C("gaussian_blur", (2, 3, 6, 7), kernel_size=(5, 5), sigma=(1.5, 0.8), data_format="channels_first",
          namespace="image", tolerance=1e-4))
    add(C("elastic_transform", (2, 8, 8, 3), seed=3, namespace="image", check="shapes"))
    add(C("scale_and_translate", (2, 6, 6, 3), L((2, 4, 9, 3)), L(np.array([0.7, 1.5], "float32")),
          L(np.array([0.0, 1.0], "float32")), L((1, 2)), L("linear"), namespace="image", tolerance=1e-4))
    add(C("scale_and_translate", (6, 6), L((4, 9)), L(np.array([0.7, 1.5], "float32")),
          L(np.array([0.5, 0.0], "float32")), L((0, 1)), L("cubic"), antialias=False, namespace="image",
          tolerance=1e-4))
    add(C("sobel_edges", (2, 5, 6, 3), namespace="image", tolerance=1e-4))
    add(C("extract_patches", (2, 6, 6, 3), L(2), namespace="image"))
    add(C("extract_patches", (2, 6, 6, 3), L((3, 2)), strides=1, padding="same", namespace="image"))
    add(C("extract_patches_3d", (1, 4, 4, 4, 2), L(2), namespace="image"))
    add(C("pad_images", (2, 4, 5, 3), L(1), L(2), target_height=7, target_width=8, namespace="image"))
    add(C("crop_images", (2, 6, 7, 3), L(1), L(2), target_height=3, target_width=4, namespace="image"))
    add(C("ssim", (2, 16, 16, 3), (2, 16, 16, 3), domain="prob", namespace="image", tolerance=1e-4))
    add(C("rearrange", (2, 3, 4), L("b h w -> b (h w)")))
    add(C("rearrange", (2, 12), L("b (h w) -> b w h"), h=3, symbolic=False))
    return table


CASES = cases()
