"""A PyTorch nn.Sequential of the layers inflab has, as inflab's model description (the
module JSON of a checkpoint's model.json), so a PyTorch model and its weights become an
inflab Problem with the same θ. Only the layers' structure is read here; θ is read by
Problem.theta_from_torch, which checks every parameter's name and shape."""
import json

_ACTIVATIONS = {"Tanh": "tanh", "ReLU": "relu", "Sigmoid": "sigmoid", "Softplus": "softplus", "ELU": "elu", "SELU": "selu",
                "GELU": "gelu"}


def _pair(v, what, name):
    if isinstance(v, tuple):
        if len(set(v)) != 1:
            raise ValueError(f"{name}: {what} {v} is not square; inflab's layers take one size for both axes")
        v = v[0]
    return int(v)


def _layer(m, name):
    kind = type(m).__name__
    if kind == "Sequential":
        return {"kind": "Sequential", "layers": [_layer(c, f"{name}.{i}" if name else str(i)) for i, c in enumerate(m)]}
    if kind == "Linear":
        return {"kind": "Linear", "in": m.in_features, "out": m.out_features, "bias": m.bias is not None}
    if kind == "Conv2d":
        if m.groups != 1 or _pair(m.dilation, "dilation", name) != 1 or m.padding_mode != "zeros" or isinstance(m.padding, str):
            raise ValueError(f"{name}: Conv2d with groups, dilation, string padding or padding_mode other than zeros is not one inflab has")
        return {"kind": "Conv2d", "in_channels": m.in_channels, "out_channels": m.out_channels,
                "kernel": _pair(m.kernel_size, "kernel_size", name), "stride": _pair(m.stride, "stride", name),
                "padding": _pair(m.padding, "padding", name), "bias": m.bias is not None}
    if kind in ("MaxPool2d", "AvgPool2d"):
        k = _pair(m.kernel_size, "kernel_size", name)
        s = k if m.stride is None else _pair(m.stride, "stride", name)
        if _pair(m.padding, "padding", name) != 0 or m.ceil_mode or (kind == "MaxPool2d" and _pair(m.dilation, "dilation", name) != 1):
            raise ValueError(f"{name}: {kind} with padding, dilation or ceil_mode is not one inflab has")
        return {"kind": kind, "kernel": k, "stride": s}
    if kind == "Flatten":
        if m.start_dim != 1 or m.end_dim != -1:
            raise ValueError(f"{name}: Flatten must flatten every axis of a sample (start_dim=1, end_dim=-1)")
        return {"kind": "Flatten"}
    if kind in _ACTIVATIONS:
        if kind == "Softplus" and (m.beta != 1 or m.threshold != 20):
            raise ValueError(f"{name}: Softplus with beta ≠ 1 is not the one inflab has")
        if kind == "ELU" and m.alpha != 1.0:
            raise ValueError(f"{name}: ELU with alpha ≠ 1 is not the one inflab has")
        if kind == "GELU" and getattr(m, "approximate", "none") != "none":
            raise ValueError(f"{name}: GELU(approximate='tanh') is not the one inflab has (it has the exact x·Φ(x))")
        return {"kind": "Activation", "activation": _ACTIVATIONS[kind]}
    raise ValueError(f"module {name or '(root)'} is a {kind}, a layer inflab does not have "
                     f"(it has Linear, Conv2d, MaxPool2d, AvgPool2d, Flatten, {', '.join(_ACTIVATIONS)})")


def model_json(module):
    """inflab's description of a torch.nn.Sequential (nested Sequentials allowed), as JSON text."""
    if type(module).__name__ != "Sequential":
        raise ValueError(f"module must be a torch.nn.Sequential, got {type(module).__name__}")
    return json.dumps(_layer(module, ""))


def describe(module):
    """A one-line description, e.g. 'torch Sequential(Linear 4→8, Tanh, Linear 8→3)'."""
    def one(m):
        kind = type(m).__name__
        if kind == "Sequential":
            return "Sequential(" + ", ".join(one(c) for c in m) + ")"
        if kind == "Linear":
            return f"Linear {m.in_features}→{m.out_features}"
        if kind == "Conv2d":
            return f"Conv2d {m.in_channels}→{m.out_channels} k{_pair(m.kernel_size, 'kernel_size', '')}"
        return kind
    return "torch " + one(module)
