"""``lamina.ops``: Keras 3's operations (``keras.ops``) on torch tensors.

Every function takes torch tensors, NumPy arrays or Python scalars and returns torch tensors, with
Keras's signatures, defaults and dtype rules (see docs/ops.md). Called on symbolic tensors
(``lamina.Input``) an op records a node, so ``Model(inputs, outputs)`` can hold ``ops`` steps, written
in configs as Keras writes them. The sub-namespaces mirror Keras's: ``lamina.ops.numpy``,
``lamina.ops.nn``, ``lamina.ops.linalg``, ``lamina.ops.image``.

The private helpers the layer families share live beside them: ``ops.arguments`` (argument checks),
``ops.padding`` (Keras's padding arithmetic), ``ops.tensors`` (conversions), ``ops.keras_op``.
"""

from lamina.ops import image, linalg, nn, numpy  # noqa: F401  (the public sub-namespaces)
from lamina.ops.core import (  # noqa: F401
    associative_scan, cast, cond, convert_to_numpy, convert_to_tensor, custom_gradient, dtype, fori_loop,
    is_tensor, map, saturate_cast, scan, scatter, scatter_update, shape, slice, slice_update, stop_gradient,
    switch, unstack, vectorized_map, while_loop,
)
from lamina.ops.einops import rearrange  # noqa: F401
from lamina.ops.image import (  # noqa: F401
    affine_transform, crop_images, elastic_transform, extract_patches, extract_patches_3d, gaussian_blur,
    hsv_to_rgb, map_coordinates, pad_images, perspective_transform, resize, rgb_to_grayscale, rgb_to_hsv,
    scale_and_translate, sobel_edges, ssim,
)
from lamina.ops.linalg import (  # noqa: F401
    cholesky, cholesky_inverse, det, eig, eigh, inv, jvp, lstsq, lu_factor, matrix_rank, norm, pinv, qr, solve,
    solve_triangular, svd,
)
from lamina.ops.math import (  # noqa: F401
    cdist, erf, erfc, erfinv, extract_sequences, fft, fft2, ifft2, in_top_k, irfft, istft, logdet, rfft, rsqrt,
    segment_max, segment_min, segment_prod, segment_sum, stft, top_k, view_as_complex, view_as_real,
)
from lamina.ops.nn import (  # noqa: F401
    adaptive_average_pool, adaptive_max_pool, average_pool, batch_normalization, binary_crossentropy,
    categorical_crossentropy, celu, conv, conv_transpose, ctc_decode, ctc_loss, depth_to_space, depthwise_conv,
    dot_product_attention, elu, fold, gelu, glu, hard_shrink, hard_sigmoid, hard_silu, hard_swish, hard_tanh,
    layer_normalization, leaky_relu, log_sigmoid, log_softmax, max_pool, moments, multi_hot, normalize, one_hot,
    polar, psnr, relu, relu6, rms_normalization, selu, separable_conv, sigmoid, silu, soft_shrink, softmax,
    softplus, softsign, space_to_depth, sparse_categorical_crossentropy, sparse_plus, sparse_sigmoid, sparsemax,
    squareplus, swish, tanh_shrink, threshold, unfold,
)
from lamina.ops.numpy import *  # noqa: F401,F403  (the 220 NumPy-like names, listed in ops/numpy.py)
from lamina.ops.reductions import logsumexp  # noqa: F401
from lamina.symbolic.keras_tensor import OPERATORS as _OPERATORS

_OPERATORS.update({name: globals()[name] for name in (
    "add", "subtract", "multiply", "matmul", "true_divide", "floor_divide", "mod", "power", "logical_and",
    "logical_or", "logical_xor", "less", "less_equal", "greater", "greater_equal", "not_equal", "get_item",
    "negative", "absolute", "logical_not", "round", "reshape", "squeeze", "transpose")})
