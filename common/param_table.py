"""The parameter table of any Keras model: a formula where the layer has one, else Keras' count."""


def _term(*factors):
    """A product written out and computed from the same numbers: ("3·3·3·32", 864)."""
    value = 1
    for factor in factors:
        value *= int(factor)
    return "·".join(str(int(f)) for f in factors), value


def _conv_terms(layer, channels_in):
    """Conv1D/2D/3D and their Transpose: one kernel per filter, plus one bias per filter."""
    terms = [_term(*layer.kernel_size, channels_in, layer.filters)]
    if layer.use_bias:
        terms.append(_term(layer.filters))
    return terms


def _terms(layer):
    """The formula's terms for the layer types a lesson explains; None for any other type."""
    kind = type(layer).__name__
    channels_in = layer.input.shape[-1]  # channels last: the last axis is the channels
    if kind in ("Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Conv3DTranspose"):
        return _conv_terms(layer, channels_in)
    if kind == "Dense":
        terms = [_term(channels_in, layer.units)]
        return terms + [_term(layer.units)] if layer.use_bias else terms
    if kind in ("SeparableConv2D", "SeparableConv1D"):
        multiplier = layer.depth_multiplier
        terms = [
            _term(*layer.kernel_size, channels_in, multiplier),  # one small kernel per channel
            _term(channels_in * multiplier, layer.filters),  # then a 1x1 mix of the channels
        ]
        return terms + [_term(layer.filters)] if layer.use_bias else terms
    if kind in ("DepthwiseConv2D", "DepthwiseConv1D"):
        terms = [_term(*layer.kernel_size, channels_in, layer.depth_multiplier)]
        bias = _term(channels_in * layer.depth_multiplier)
        return terms + [bias] if layer.use_bias else terms
    if kind == "BatchNormalization":
        # gamma and beta are trained; the moving mean and variance are counted but not trained
        kept = int(layer.scale) + int(layer.center) + 2
        return [_term(kept, channels_in)]
    return None


def parameter_rows(model):
    """One dict per layer that holds weights: name, kind, formula (or None) and count.

    The count is always Keras' own `layer.count_params()`. The formula is shown only where it
    gives the same number, so an unusual layer (or an edited one) still gets a true row.
    """
    rows = []
    for layer in model.layers:
        count = layer.count_params()
        if not layer.weights:
            continue
        try:
            terms = _terms(layer)
        except (AttributeError, TypeError, ValueError):  # a layer without the usual attributes
            terms = None
        formula = None
        if terms and sum(value for _, value in terms) == count:
            formula = " + ".join(text for text, _ in terms)
        rows.append(
            {"layer": layer.name, "kind": type(layer).__name__, "formula": formula, "count": count}
        )
    return rows


def print_parameter_rows(rows, total):
    """Print the table and its total; total is model.count_params(), which the rows add up to."""
    width = max([len(r["formula"] or "") for r in rows] + [26])
    for row in rows:
        formula = row["formula"] or "(Keras' count_params)"
        print(f"  {row['layer']:<22} {row['kind']:<20} {formula:<{width}} = {row['count']:>10,}")
    print(f"  {'total':<22} {'':<20} {'':<{width}} = {total:>10,}")
