"""Stateless pieces of the ONNX → PyTorch conversion: attribute handling, padding rules, dequantization."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

from .errors import ConfigError


class ConversionError(ConfigError):
    """The ONNX graph uses something this converter does not handle."""


ELEMENTWISE: dict[str, Callable[[list], torch.Tensor]] = {
    "MatMul": lambda v: torch.matmul(v[0], v[1]),
    "Add": lambda v: v[0] + v[1],
    "Sub": lambda v: v[0] - v[1],
    "Mul": lambda v: v[0] * v[1],
    "Div": lambda v: v[0] / v[1],
    "Min": lambda v: _reduce(torch.minimum, v),
    "Max": lambda v: _reduce(torch.maximum, v),
    "Sum": lambda v: _reduce(torch.add, v),
}


def _reduce(fn, values):
    out = values[0]
    for v in values[1:]:
        out = fn(out, v.to(out.dtype) if isinstance(v, torch.Tensor) else v)
    return out


def conv_fn(attrs):
    strides = attrs.get("strides", [1, 1])
    dilations = attrs.get("dilations", [1, 1])
    groups = attrs.get("group", 1)
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    kernel = attrs.get("kernel_shape")
    if auto_pad not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise ConversionError(f"Conv: auto_pad {auto_pad} is not supported")
    if auto_pad == "VALID":
        pads = [0, 0, 0, 0]
    if len(strides) != 2:
        raise ConversionError("only 2-D convolutions are supported")

    def conv(x, w, b):
        p = pads
        if auto_pad.startswith("SAME"):
            p = _same_pads(x.shape[-2:], kernel or w.shape[-2:], strides, dilations, auto_pad == "SAME_LOWER")
        if p[0] == p[2] and p[1] == p[3]:
            return F.conv2d(x, w, b, strides, (p[0], p[1]), dilations, groups)
        return F.conv2d(F.pad(x, [p[1], p[3], p[0], p[2]]), w, b, strides, 0, dilations, groups)

    return conv


def pool_fn(attrs, pool, pad_value):
    kernel = attrs["kernel_shape"]
    strides = attrs.get("strides", [1, 1])
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    ceil = bool(attrs.get("ceil_mode", 0))
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
        raise ConversionError("pooling with SAME auto_pad is not supported")

    def run(x):
        if pads[0] == pads[2] and pads[1] == pads[3] and max(pads) <= kernel[0] // 2:
            return pool(x, kernel, strides, (pads[0], pads[1]), ceil)
        return pool(F.pad(x, [pads[1], pads[3], pads[0], pads[2]], value=pad_value), kernel, strides, 0, ceil)

    return run


def _same_pads(size, kernel, strides, dilations, lower):
    pads_begin, pads_end = [], []
    for n, k, s, d in zip(size, kernel, strides, dilations, strict=False):
        total = max((-(-int(n) // s) - 1) * s + (k - 1) * d + 1 - int(n), 0)
        small, big = total // 2, total - total // 2
        pads_begin.append(big if lower else small)
        pads_end.append(small if lower else big)
    return pads_begin + pads_end


def broadcast(values: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim == 0 or values.size == 1:
        return values.reshape(())
    shape = [1] * ndim
    shape[axis % ndim] = values.size
    return values.reshape(shape)


def dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, axis: int) -> np.ndarray:
    if q.dtype.kind == "f":
        return q
    zp = np.zeros((), np.float64) if zero_point is None else broadcast(zero_point, q.ndim, axis).astype(np.float64)
    return ((q.astype(np.float64) - zp) * broadcast(scale, q.ndim, axis).astype(np.float64)).astype(np.float32)


def constant_value(node: onnx.NodeProto) -> np.ndarray:
    for a in node.attribute:
        if a.name == "value":
            return numpy_helper.to_array(a.t)
        if a.name in ("value_float", "value_int"):
            return np.asarray(helper.get_attribute_value(a))
        if a.name in ("value_floats", "value_ints"):
            return np.asarray(list(helper.get_attribute_value(a)))
    raise ConversionError(f"Constant node {node.name} without a supported value")


def needed_nodes(nodes, outputs, producers) -> list[onnx.NodeProto]:
    needed, stack = set(), list(outputs)
    while stack:
        name = stack.pop()
        node = producers.get(name)
        if node is None or id(node) in needed:
            continue
        needed.add(id(node))
        stack.extend(n for n in node.input if n)
    return [n for n in nodes if id(n) in needed]


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)
