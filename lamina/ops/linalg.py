"""Linear algebra (``keras.ops.linalg``): decompositions, solvers, inverses, norms (``torch.linalg``)."""

import torch

from lamina.dtypes import result_type
from lamina.ops.keras_op import keras_op
from lamina.ops.tensors import dtype_name, floatx, to_tensor, torch_dtype
from lamina.symbolic.keras_tensor import KerasTensor


@keras_op("Cholesky", "linalg", config=("upper",))
def cholesky(x, upper=False):
    """The Cholesky factor of symmetric positive-definite matrices (lower, or upper when ``upper``)."""
    return torch.linalg.cholesky(to_tensor(x), upper=upper)


@keras_op("CholeskyInverse", "linalg", config=("upper",))
def cholesky_inverse(x, upper=False):
    """The inverse of ``A`` from its Cholesky factor ``x``."""
    return torch.cholesky_inverse(to_tensor(x), upper=upper)


@keras_op("Det", "linalg")
def det(x):
    """Determinants of square matrices."""
    return torch.linalg.det(to_tensor(x))


@keras_op("Eig", "linalg")
def eig(x):
    """(eigenvalues, eigenvectors) of square matrices (complex)."""
    return torch.linalg.eig(to_tensor(x))


@keras_op("Eigh", "linalg")
def eigh(x):
    """(eigenvalues ascending, eigenvectors) of symmetric matrices."""
    return torch.linalg.eigh(to_tensor(x))


@keras_op("Inv", "linalg")
def inv(x):
    """Inverses of square matrices."""
    return torch.linalg.inv(to_tensor(x))


@keras_op("LuFactor", "linalg")
def lu_factor(x):
    """(LU, pivots) of square matrices, with 0-based pivots (SciPy's convention)."""
    lu, pivots = torch.linalg.lu_factor(to_tensor(x))
    return lu, pivots - 1


@keras_op("Norm", "linalg", config=("ord", "axis", "keepdims"))
def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    """Vector or matrix norms (NumPy's ``ord`` conventions; integers computed as floats)."""
    x = to_tensor(x)
    dtype = floatx() if x.dtype is torch.int64 else torch_dtype(result_type(dtype_name(x), float))
    return torch.linalg.norm(x.to(dtype), ord=ord, dim=axis, keepdim=keepdims)


@keras_op("Qr", "linalg", config=("mode",))
def qr(x, mode="reduced"):
    """(Q, R) of matrices; ``mode`` "reduced" or "complete"."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: `mode` must be 'reduced' or 'complete'. Received: mode={mode!r}")
    return torch.linalg.qr(to_tensor(x), mode=mode)


@keras_op("Solve", "linalg")
def solve(a, b):
    """``x`` with ``a @ x == b``."""
    return torch.linalg.solve(to_tensor(a), to_tensor(b))


@keras_op("SolveTriangular", "linalg", config=("lower",))
def solve_triangular(a, b, lower=False):
    """``x`` with ``a @ x == b`` for triangular ``a`` (upper unless ``lower``); ``b`` may be a vector."""
    a, b = to_tensor(a), to_tensor(b)
    if b.ndim == a.ndim - 1:
        return torch.linalg.solve_triangular(a, b.unsqueeze(-1), upper=not lower).squeeze(-1)
    return torch.linalg.solve_triangular(a, b, upper=not lower)


@keras_op("SVD", "linalg", config=("full_matrices", "compute_uv"))
def svd(x, full_matrices=True, compute_uv=True):
    """(U, S, Vh) of matrices, or the singular values alone without ``compute_uv``."""
    x = to_tensor(x)
    if not compute_uv:
        return torch.linalg.svdvals(x)
    return torch.linalg.svd(x, full_matrices=full_matrices)


def _lstsq_spec(a, b, rcond=None):
    return KerasTensor(tuple(a.shape[-1:]) + tuple(b.shape[1:]), dtype=b.dtype)


@keras_op("Lstsq", "linalg", config=("rcond",), output_spec=_lstsq_spec)
def lstsq(a, b, rcond=None):
    """The least-squares solution of ``a @ x = b`` (NumPy's ``rcond`` cut-off, through SVD when given)."""
    a, b = to_tensor(a), to_tensor(b)
    if rcond is not None:
        if a.device.type != "cpu":
            return torch.linalg.pinv(a, rtol=rcond) @ b
        return torch.linalg.lstsq(a, b, rcond=rcond, driver="gelsd").solution
    return torch.linalg.lstsq(a, b).solution


@keras_op("MatrixRank", "linalg", config=("tol",))
def matrix_rank(x, tol=None):
    """The rank of matrices (singular values above ``tol``, NumPy's default otherwise), int32."""
    return torch.linalg.matrix_rank(to_tensor(x), atol=tol).to(torch.int32)


@keras_op("Pinv", "linalg", config=("rcond",))
def pinv(x, rcond=None):
    """The Moore-Penrose pseudo-inverse (singular values below ``rcond * max`` dropped)."""
    return torch.linalg.pinv(to_tensor(x), rtol=rcond)


@keras_op("JVP", "linalg", config=("has_aux",))
def jvp(fun, primals, tangents, has_aux=False):
    """(``fun(*primals)``, its Jacobian-vector product with ``tangents``) (``torch.func.jvp``)."""
    return torch.func.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)


@keras_op("Slogdet", "numpy")
def slogdet(x):
    """(sign, log|det|) of square matrices."""
    return tuple(torch.linalg.slogdet(to_tensor(x)))
