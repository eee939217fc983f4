"""The base of the merge layers: a list of tensors in, one tensor out.

Elementwise merges (``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``,
``Minimum``) take inputs whose shapes broadcast after the batch axis (right-aligned,
as NumPy); inputs of lower rank get size-1 axes inserted after the batch axis, as Keras.
Masks ``(batch, steps)`` are OR-ed: the output step is masked only where every input is.
"""

import torch

from lamina.engine.layer import Layer


def _shape_text(shapes):
    return [tuple(s) if s is not None else None for s in shapes]


class Merge(Layer):
    """Elementwise merge of a list of inputs; subclasses implement ``_merge(inputs, masks)``."""

    casts_integer_inputs = False  # moves data: keeps the input dtype, as Keras

    supports_masking = True

    def _check_list(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or \
                not all(isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(f"A merge layer ({type(self).__name__} '{self.name}') should be called on a list of "
                             f"inputs. Received: input_shape={input_shape} (not a list of shapes)")

    def build(self, input_shape):
        self._check_list(input_shape)
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        batch_sizes = {s[0] for s in input_shape if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(f"{type(self).__name__} '{self.name}': cannot merge tensors with different batch "
                             f"sizes. Received tensors with shapes {_shape_text(input_shape)}")
        output = tuple(input_shape[0][1:])
        for shape in input_shape[1:]:
            output = self._broadcast(output, tuple(shape[1:]), input_shape)
        return (batch_sizes.pop() if batch_sizes else None,) + output

    def _broadcast(self, shape1, shape2, all_shapes):
        if len(shape1) < len(shape2):
            shape1, shape2 = shape2, shape1
        result = list(shape1[:len(shape1) - len(shape2)])
        for i, j in zip(shape1[len(shape1) - len(shape2):], shape2):
            if i is None or j is None:
                result.append(None)
            elif i == 1 or j == 1 or i == j:
                result.append(j if i == 1 else i)
            else:
                raise ValueError(f"{type(self).__name__} '{self.name}': inputs have incompatible shapes. "
                                 f"Received shapes {_shape_text(all_shapes)}")
        return tuple(result)

    def call(self, inputs, mask=None):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"A merge layer ({type(self).__name__} '{self.name}') should be called on a list of "
                             f"inputs. Received: inputs of type {type(inputs).__name__}")
        ranks = [x.dim() for x in inputs]
        if len(set(ranks)) > 1:
            top = max(ranks)
            inputs = [x.reshape(x.shape[:1] + (1,) * (top - x.dim()) + x.shape[1:]) for x in inputs]
        masks = None
        if mask is not None and any(m is not None for m in mask):
            masks = [None if m is None else torch.as_tensor(m, device=x.device).unsqueeze(-1)
                     for m, x in zip(mask, inputs)]
        return self._merge(inputs, masks)

    def _merge(self, inputs, masks):
        """Merges ``inputs`` (same rank); ``masks`` is None or one ``(batch, steps, 1)`` bool (or None) per input."""
        raise NotImplementedError

    def compute_mask(self, inputs, previous_mask):
        if previous_mask is None or any(m is None for m in previous_mask):
            return None
        if len(previous_mask) != len(inputs):
            raise ValueError(f"{type(self).__name__} '{self.name}': got {len(inputs)} inputs but "
                             f"{len(previous_mask)} masks.")
        output = torch.as_tensor(previous_mask[0])
        for m in previous_mask[1:]:
            output = output | torch.as_tensor(m, device=output.device)
        return output
