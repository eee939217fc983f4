"""TensorFlow's string hashes in NumPy, so hashed ids equal Keras's without TensorFlow.

Keras's ``Hashing`` and the lookups' extra OOV buckets call ``tf.strings.to_hash_bucket_fast``
(FarmHash ``Fingerprint64``, i.e. ``farmhashna::Hash64``) or, with a salt,
``tf.strings.to_hash_bucket_strong`` (SipHash-2-4 keyed by two 64-bit words); ``HashedCrossing``
calls ``tf.sparse.cross_hashed``, which chains feature hashes with ``FingerprintCat64``. Each
function takes a flat list of ``bytes`` and returns a ``uint64`` array. The byte strings are
grouped by length, so every group is one fixed-width byte matrix and each step of the hash is one
vectorized NumPy operation over the group.
"""

import numpy as np

_K0 = np.uint64(0xC3A5C85C97CB3127)
_K1 = np.uint64(0xB492B66FBE98F273)
_K2 = np.uint64(0x9AE16A3B2F90404F)
_KMUL = np.uint64(0xC6A4A7935BD1E995)  # FingerprintCat64's multiplier
_SHIFT_47 = np.uint64(47)


def _u64(value):
    return np.uint64(value & 0xFFFFFFFFFFFFFFFF)


def _rotate_right(value, shift):
    return (value >> np.uint64(shift)) | (value << np.uint64(64 - shift))


def _rotate_left(value, shift):
    return (value << np.uint64(shift)) | (value >> np.uint64(64 - shift))


def _shift_mix(value):
    return value ^ (value >> _SHIFT_47)


def _fetch64(matrix, offset):
    """The little-endian uint64 at byte ``offset`` of each row."""
    return np.ascontiguousarray(matrix[:, offset:offset + 8]).view("<u8")[:, 0].astype(np.uint64)


def _fetch32(matrix, offset):
    return np.ascontiguousarray(matrix[:, offset:offset + 4]).view("<u4")[:, 0].astype(np.uint64)


def _hash_len16(u, v, mul):
    a = (u ^ v) * mul
    a ^= a >> _SHIFT_47
    b = (v ^ a) * mul
    b ^= b >> _SHIFT_47
    return b * mul


def _len0to16(m, length):
    rows = m.shape[0]
    if length >= 8:
        mul = _K2 + _u64(length * 2)
        a = _fetch64(m, 0) + _K2
        b = _fetch64(m, length - 8)
        c = _rotate_right(b, 37) * mul + a
        d = (_rotate_right(a, 25) + b) * mul
        return _hash_len16(c, d, mul)
    if length >= 4:
        mul = _K2 + _u64(length * 2)
        a = _fetch32(m, 0)
        return _hash_len16(_u64(length) + (a << np.uint64(3)), _fetch32(m, length - 4), mul)
    if length > 0:
        a, b, c = (m[:, i].astype(np.uint64) for i in (0, length >> 1, length - 1))
        y = a + (b << np.uint64(8))
        z = _u64(length) + (c << np.uint64(2))
        return _shift_mix(y * _K2 ^ z * _K0) * _K2
    return np.full(rows, _K2, dtype=np.uint64)


def _mix_ends(m, length, first_multiplier):
    """The mix of the first and last 16 bytes that the 17-32 and 33-64 byte branches share:
    (mul, a, y, the second word for HashLen16)."""
    mul = _K2 + _u64(length * 2)
    a = _fetch64(m, 0) * first_multiplier
    b = _fetch64(m, 8)
    c = _fetch64(m, length - 8) * mul
    d = _fetch64(m, length - 16) * _K2
    return mul, a, _rotate_right(a + b, 43) + _rotate_right(c, 30) + d, a + _rotate_right(b + _K2, 18) + c


def _len17to32(m, length):
    mul, _, y, second = _mix_ends(m, length, _K1)
    return _hash_len16(y, second, mul)


def _len33to64(m, length):
    mul, a, y, second = _mix_ends(m, length, _K2)
    z = _hash_len16(y, second, mul)
    e = _fetch64(m, 16) * mul
    f = _fetch64(m, 24)
    g = (y + _fetch64(m, length - 32)) * mul
    h = (z + _fetch64(m, length - 24)) * mul
    return _hash_len16(_rotate_right(e + f, 43) + _rotate_right(g, 30) + h, e + _rotate_right(f + a, 18) + g, mul)


def _weak_hash_len32_with_seeds(m, offset, a, b):
    w, x, y, z = (_fetch64(m, offset + 8 * i) for i in range(4))
    a = a + w
    b = _rotate_right(b + a + z, 21)
    c = a
    a = a + x + y
    b = b + _rotate_right(a, 44)
    return a + z, b + c


def _len_over64(m, length):
    seed = np.uint64(81)
    rows = m.shape[0]
    x = np.full(rows, seed, dtype=np.uint64)
    y = np.full(rows, seed * _K1 + np.uint64(113), dtype=np.uint64)
    z = _shift_mix(y * _K2 + np.uint64(113)) * _K2
    zeros = np.zeros(rows, dtype=np.uint64)
    v, w = (zeros, zeros), (zeros, zeros)
    x = x * _K2 + _fetch64(m, 0)
    end = ((length - 1) // 64) * 64
    last64 = end + ((length - 1) & 63) - 63
    for s in range(0, end, 64):
        x = _rotate_right(x + y + v[0] + _fetch64(m, s + 8), 37) * _K1
        y = _rotate_right(y + v[1] + _fetch64(m, s + 48), 42) * _K1
        x ^= w[1]
        y = y + v[0] + _fetch64(m, s + 40)
        z = _rotate_right(z + w[0], 33) * _K1
        v = _weak_hash_len32_with_seeds(m, s, v[1] * _K1, x + w[0])
        w = _weak_hash_len32_with_seeds(m, s + 32, z + w[1], y + _fetch64(m, s + 16))
        z, x = x, z
    mul = _K1 + ((z & np.uint64(0xFF)) << np.uint64(1))
    s = last64
    w = (w[0] + _u64((length - 1) & 63), w[1])
    v = (v[0] + w[0], v[1])
    w = (w[0] + v[0], w[1])
    x = _rotate_right(x + y + v[0] + _fetch64(m, s + 8), 37) * mul
    y = _rotate_right(y + v[1] + _fetch64(m, s + 48), 42) * mul
    x ^= w[1] * np.uint64(9)
    y = y + v[0] * np.uint64(9) + _fetch64(m, s + 40)
    z = _rotate_right(z + w[0], 33) * mul
    v = _weak_hash_len32_with_seeds(m, s, v[1] * mul, x + w[0])
    w = _weak_hash_len32_with_seeds(m, s + 32, z + w[1], y + _fetch64(m, s + 16))
    z, x = x, z
    return _hash_len16(_hash_len16(v[0], w[0], mul) + _shift_mix(y) * _K0 + z, _hash_len16(v[1], w[1], mul) + x, mul)


def _farmhash_group(m, length):
    if length <= 16:
        return _len0to16(m, length)
    if length <= 32:
        return _len17to32(m, length)
    if length <= 64:
        return _len33to64(m, length)
    return _len_over64(m, length)


def _sip_rounds(v0, v1, v2, v3, count):
    for _ in range(count):
        v0 = v0 + v1
        v1 = _rotate_left(v1, 13) ^ v0
        v0 = _rotate_left(v0, 32)
        v2 = v2 + v3
        v3 = _rotate_left(v3, 16) ^ v2
        v0 = v0 + v3
        v3 = _rotate_left(v3, 21) ^ v0
        v2 = v2 + v1
        v1 = _rotate_left(v1, 17) ^ v2
        v2 = _rotate_left(v2, 32)
    return v0, v1, v2, v3


def _siphash_group(m, length, key):
    k0, k1 = _u64(key[0]), _u64(key[1])
    rows = m.shape[0]
    v0 = np.full(rows, k0 ^ np.uint64(0x736F6D6570736575), dtype=np.uint64)
    v1 = np.full(rows, k1 ^ np.uint64(0x646F72616E646F6D), dtype=np.uint64)
    v2 = np.full(rows, k0 ^ np.uint64(0x6C7967656E657261), dtype=np.uint64)
    v3 = np.full(rows, k1 ^ np.uint64(0x7465646279746573), dtype=np.uint64)
    whole = length - length % 8
    for offset in range(0, whole, 8):
        block = _fetch64(m, offset)
        v3 ^= block
        v0, v1, v2, v3 = _sip_rounds(v0, v1, v2, v3, 2)
        v0 ^= block
    last = np.full(rows, _u64((length & 0xFF) << 56), dtype=np.uint64)
    for i in range(length % 8):
        last |= m[:, whole + i].astype(np.uint64) << np.uint64(8 * i)
    v3 ^= last
    v0, v1, v2, v3 = _sip_rounds(v0, v1, v2, v3, 2)
    v0 ^= last
    v2 ^= np.uint64(0xFF)
    v0, v1, v2, v3 = _sip_rounds(v0, v1, v2, v3, 4)
    return v0 ^ v1 ^ v2 ^ v3


def _by_length(values, hash_group):
    """Applies ``hash_group(byte_matrix, length)`` to the values of each length; a uint64 array."""
    lengths = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
    result = np.empty(len(values), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for length in np.unique(lengths):
            rows = np.flatnonzero(lengths == length)
            length = int(length)
            data = b"".join([values[i] for i in rows])
            matrix = np.frombuffer(data, dtype=np.uint8).reshape(len(rows), length)
            result[rows] = hash_group(matrix, length)
    return result


def fingerprint64(values):
    """FarmHash ``Fingerprint64`` of each byte string (TensorFlow's ``to_hash_bucket_fast`` hash)."""
    return _by_length(values, _farmhash_group)


def siphash(values, key):
    """SipHash-2-4 of each byte string under ``key`` (two ints; TensorFlow's ``to_hash_bucket_strong``)."""
    return _by_length(values, lambda matrix, length: _siphash_group(matrix, length, key))


def fingerprint_cat64(first, second):
    """TensorFlow's ``FingerprintCat64``: combines two uint64 fingerprint arrays (or scalars)."""
    with np.errstate(over="ignore"):
        result = np.asarray(first, dtype=np.uint64) ^ _KMUL
        result = result ^ (_shift_mix(np.asarray(second, dtype=np.uint64) * _KMUL) * _KMUL)
        result = result * _KMUL
        result = _shift_mix(result) * _KMUL
        return _shift_mix(result)
