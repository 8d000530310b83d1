"""One layer run on a small tensor, described as one row: its call, shapes and parameters."""

import numpy as np

from common.param_table import parameter_rows
from common.quiet_keras import keras

# The attributes that say how big a layer is, in the order the layer's call takes them.
POSITIONAL = (
    "units",
    "filters",
    "kernel_size",
    "pool_size",
    "rate",
    "stddev",
    "input_dim",
    "output_dim",
    "equation",
)
# Shown as name=value where they differ from the default given here (None: always shown).
KEYWORDS = {"return_sequences": False, "negative_slope": None, "use_bias": True}


def call_text(layer):
    """The call that builds the layer, from its sizes (not every option): 'Conv2D(2, (3, 3))'."""
    kind = type(layer).__name__
    if isinstance(getattr(layer, "layer", None), keras.layers.Layer):  # a wrapper
        return f"{kind}({call_text(layer.layer)})"
    if kind == "Activation":
        return f"{kind}({layer.activation.__name__!r})"
    args = [repr(getattr(layer, name)) for name in POSITIONAL if hasattr(layer, name)]
    for name, default in KEYWORDS.items():
        if hasattr(layer, name) and getattr(layer, name) != default:
            args.append(f"{name}={getattr(layer, name)!r}")
    return f"{kind}({', '.join(args)})"


def shape_of(inputs):
    """The shape of a tensor, or the list of shapes of a list of tensors (as lists)."""
    if isinstance(inputs, list | tuple):
        return [list(np.shape(x)) for x in inputs]
    return list(np.shape(inputs))


def shape_text(shape):
    """'(1, 3)', or '(1, 3) + (1, 3)' for a layer that joins two tensors."""
    if shape and isinstance(shape[0], list):
        return " + ".join(str(tuple(s)) for s in shape)
    return str(tuple(shape))


def weights_formula(layer):
    """The count written as the sizes of the layer's weights: '3·16 + 4·16 + 16' for an LSTM."""
    return " + ".join("·".join(str(n) for n in w.shape) for w in layer.weights)


def parameter_formula(layer, inputs):
    """param_table's formula for the layer alone in a model; else its weights' sizes; else None."""
    if not layer.weights:
        return None
    many = isinstance(inputs, list | tuple)
    symbolic = [
        keras.Input(np.shape(x)[1:], dtype=keras.backend.standardize_dtype(x.dtype))
        for x in (inputs if many else [inputs])
    ]
    model = keras.Model(symbolic, layer(symbolic if many else symbolic[0]))
    formula = parameter_rows(model)[0]["formula"]
    return formula or weights_formula(layer)


def layer_row(layer, inputs, outputs, training=None):
    """What the JSON and the printout say about one layer run on inputs."""
    phase = {None: "", True: ", training", False: ", inference"}[training]
    return {
        "layer": type(layer).__name__,
        "call": call_text(layer) + phase,
        "input_shape": shape_of(inputs),
        "output_shape": shape_of(outputs),
        "params": int(layer.count_params()),  # always Keras' own count
        "params_formula": parameter_formula(layer, inputs),
    }


def print_layer_row(row, what, indent=" " * 4):
    """One line 'call  in -> out  params N = formula', and what the layer does under it."""
    formula = f" = {row['params_formula']}" if row["params_formula"] else ""
    print(
        f"{row['call']:30s} {shape_text(row['input_shape']):>16s} ->"
        f" {shape_text(row['output_shape']):16s} params {row['params']:>5,d}{formula}"
    )
    if what:
        print(f"{indent}{what}")
