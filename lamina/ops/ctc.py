"""Connectionist temporal classification (``keras.ops.ctc_loss``, ``keras.ops.ctc_decode``)."""

import math

import torch
import torch.nn.functional as F

from lamina.dtypes import result_type
from lamina.ops.keras_op import keras_op
from lamina.ops.tensors import dtype_name, to_tensor, torch_dtype
from lamina.symbolic.keras_tensor import KerasTensor


def _at_least_float32(x):
    return x.to(torch_dtype(result_type(dtype_name(x), "float32")))


def _ctc_loss_spec(target, output, target_length, output_length, mask_index=0):
    dtype = output.dtype if output.dtype in ("float32", "float64") else "float32"
    return KerasTensor((output.shape[0],), dtype=dtype)


@keras_op("CTCLoss", "nn", config=("mask_index",), output_spec=_ctc_loss_spec)
def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """The CTC loss per sample. ``target``: ``(batch, max_label_length)`` integer labels; ``output``:
    ``(batch, time, classes)`` logits; ``mask_index``: the blank class."""
    output = _at_least_float32(to_tensor(output))
    log_probs = F.log_softmax(output.transpose(0, 1), dim=-1)
    return F.ctc_loss(log_probs, to_tensor(target, device=output.device), to_tensor(output_length),
                      to_tensor(target_length), blank=mask_index, reduction="none")


@keras_op("CTCDecode", "nn", config=("strategy", "beam_width", "top_paths", "merge_repeated", "mask_index"))
def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1, merge_repeated=True,
               mask_index=0):
    """Decodes ``(batch, time, classes)`` scores into (paths ``(top_paths, batch, time)`` int32 padded with
    -1, scores ``(batch, top_paths)``). ``strategy``: "greedy" (the best class per step; scores are minus
    the summed best logits) or "beam_search" (prefix beam search over softmax probabilities; scores are
    the paths' log probabilities)."""
    inputs = _at_least_float32(to_tensor(inputs))
    lengths = to_tensor(sequence_lengths, dtype="int32", device=inputs.device)
    if mask_index is None:
        mask_index = inputs.shape[-1] - 1
    if strategy == "greedy":
        return _greedy(inputs, lengths, merge_repeated, mask_index)
    if strategy == "beam_search":
        return _beam_search(inputs, lengths, beam_width, top_paths, mask_index)
    raise ValueError(f"ctc_decode: strategy must be 'greedy' or 'beam_search'. Received: strategy={strategy!r}")


def _greedy(inputs, lengths, merge_repeated, mask_index):
    batch, steps, _ = inputs.shape
    scores, indices = inputs.max(dim=-1)
    indices = indices.to(torch.int32)
    padded = torch.arange(steps, device=inputs.device)[None, :] >= lengths[:, None]
    indices = torch.where(padded, mask_index, indices)
    scores = torch.where(padded, 0.0, scores)
    if merge_repeated:
        repeated = F.pad(indices[:, 1:] == indices[:, :-1], (1, 0))
        indices = torch.where(repeated, mask_index, indices)
    blank = indices == mask_index
    indices = torch.where(blank, -1, indices)
    # Labels first, in order; the blanks (-1) at the end.
    order = torch.where(blank, steps, torch.arange(steps, device=inputs.device).expand(batch, steps))
    indices = torch.take_along_dim(indices, torch.argsort(order, dim=-1, stable=True), dim=-1)
    return indices.unsqueeze(0), -scores.sum(dim=1, keepdim=True)


def _log_add(a, b):
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    high = max(a, b)
    return high + math.log1p(math.exp(-abs(a - b)))


def _beam_search(inputs, lengths, beam_width, top_paths, mask_index):
    """Prefix beam search: each prefix keeps the log probabilities of ending in a blank and in a label."""
    batch, steps, classes = inputs.shape
    log_probs = F.log_softmax(inputs, dim=-1).tolist()
    paths = torch.full((top_paths, batch, steps), -1, dtype=torch.int32)
    scores = torch.full((batch, top_paths), -math.inf, dtype=inputs.dtype)
    for b, length in enumerate(lengths.tolist()):
        beams = {(): (0.0, -math.inf)}
        for t in range(length):
            step = log_probs[b][t]
            extended = {}
            for prefix, (blank, label) in beams.items():
                total = _log_add(blank, label)
                for c in range(classes):
                    p = step[c]
                    if c == mask_index:
                        old_blank, old_label = extended.get(prefix, (-math.inf, -math.inf))
                        extended[prefix] = (_log_add(old_blank, total + p), old_label)
                        continue
                    longer = prefix + (c,)
                    old_blank, old_label = extended.get(longer, (-math.inf, -math.inf))
                    # A repeated label extends only from a blank; otherwise it collapses into the prefix.
                    source = blank if prefix and prefix[-1] == c else total
                    extended[longer] = (old_blank, _log_add(old_label, source + p))
                    if prefix and prefix[-1] == c:
                        same_blank, same_label = extended.get(prefix, (-math.inf, -math.inf))
                        extended[prefix] = (same_blank, _log_add(same_label, label + p))
            ranked = sorted(extended.items(), key=lambda item: -_log_add(*item[1]))
            beams = dict(ranked[:beam_width])
        best = sorted(beams.items(), key=lambda item: -_log_add(*item[1]))[:top_paths]
        for k, (prefix, probabilities) in enumerate(best):
            if prefix:
                paths[k, b, :len(prefix)] = torch.tensor(prefix, dtype=torch.int32)
            scores[b, k] = _log_add(*probabilities)
    return paths.to(inputs.device), scores.to(inputs.device)
