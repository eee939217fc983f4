"""Random damage to a file's bytes, for the loaders' corruption tests."""


def corrupted(data, rng, trial, run_length):
    """``data`` damaged by the kind ``trial`` picks, at places ``rng`` draws: trial % 3 == 0 flips 1-7 bytes,
    1 truncates, 2 overwrites a run of ``run_length`` bytes."""
    blob = bytearray(data)
    if trial % 3 == 0:
        for _ in range(rng.integers(1, 8)):
            blob[rng.integers(0, len(blob))] = rng.integers(0, 256)
    elif trial % 3 == 1:
        blob = blob[: rng.integers(0, len(blob))]
    else:
        start = rng.integers(0, len(blob))
        blob[start:start + run_length] = bytes(rng.integers(0, 256, run_length).tolist())
    return bytes(blob)
