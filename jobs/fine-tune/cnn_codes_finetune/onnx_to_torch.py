"""ONNX graph → trainable PyTorch module.

Handles plain fp32 graphs (Conv/BatchNormalization/Gemm…), QDQ int8 graphs and QOperator (QLinear*) int8 graphs.
Every runtime tensor holds the *real* value of the ONNX tensor (for a quantized tensor: (q - zero_point) * scale),
so QDQ and QLinear graphs become plain float networks:

- weights and biases are dequantized once, at conversion, into float `nn.Parameter`s;
- an activation's quantization keeps its saturation as a clamp to [(qmin-zp)·s, (qmax-zp)·s], because that is
  where QLinear graphs hide their fused ReLU/ReLU6; the rounding to the integer grid is dropped (float mode,
  trainable) or kept with a straight-through gradient (`fake_quant=True`, which tracks onnxruntime's integer
  arithmetic closely and is what the fidelity checks use).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper
from torch import nn

from .onnx_ops import (
    ELEMENTWISE,
    ConversionError,
    broadcast,
    constant_value,
    conv_fn,
    dequantize,
    needed_nodes,
    pool_fn,
    safe_name,
)

_INT_RANGES = {
    onnx.TensorProto.UINT8: (0, 255),
    onnx.TensorProto.INT8: (-128, 127),
    onnx.TensorProto.UINT16: (0, 65535),
    onnx.TensorProto.INT16: (-32768, 32767),
}
_NP_RANGES = {np.dtype(np.uint8): (0, 255), np.dtype(np.int8): (-128, 127),
              np.dtype(np.uint16): (0, 65535), np.dtype(np.int16): (-32768, 32767)}

# (op, input slot) whose constant operand is a learned weight; every other constant stays a fixed buffer.
_TRAINABLE_SLOTS = {
    ("Conv", 1), ("Conv", 2), ("Gemm", 1), ("Gemm", 2), ("MatMul", 0), ("MatMul", 1), ("Add", 0), ("Add", 1),
    ("BatchNormalization", 1), ("BatchNormalization", 2),
    ("QLinearConv", 3), ("QLinearConv", 8), ("QLinearMatMul", 0), ("QLinearMatMul", 3),
    ("QLinearAdd", 0), ("QLinearAdd", 3),
}


@dataclass
class _Step:
    op: str
    inputs: list[str]
    outputs: list[str]
    run: Callable[[list], list]


class OnnxGraphModule(nn.Module):
    """Runs the part of an ONNX graph that produces `outputs`, with float trainable weights.

    `forward(*inputs)` takes the graph's runtime inputs (real values, float32) and returns a tuple of `outputs`.
    """

    def __init__(self, model: onnx.ModelProto, outputs: Sequence[str], *, fake_quant: bool = False):
        super().__init__()
        self.fake_quant = fake_quant
        self.output_names = list(outputs)
        graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
        self._consts: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        for node in graph.node:
            if node.op_type == "Constant":
                self._consts[node.output[0]] = constant_value(node)
        self.input_names = [i.name for i in graph.input if i.name not in self._consts]
        # Integer graph inputs carry raw integers (not real values): the first DequantizeLinear must really apply.
        self._raw_int = {i.name for i in graph.input if i.type.tensor_type.elem_type in _INT_RANGES}
        self.weights = nn.ParameterDict()
        self._weight_keys: dict[str, str] = {}
        self._buffer_keys: dict[str, str] = {}
        self._steps: list[_Step] = []
        producers = {o: n for n in graph.node for o in n.output}
        for name in self.output_names:
            if name not in producers and name not in self.input_names:
                raise ConversionError(f"tensor {name!r} is not produced by the graph")
        for node in needed_nodes(graph.node, self.output_names, producers):
            if node.op_type != "Constant":
                self._lower(node)
        self.node_order = [s.outputs for s in self._steps]

    # ---------------------------------------------------------------- forward
    def forward(self, *inputs: torch.Tensor):
        if len(inputs) != len(self.input_names):
            raise TypeError(f"expected {len(self.input_names)} inputs ({self.input_names}), got {len(inputs)}")
        env = dict(zip(self.input_names, inputs, strict=False))
        for step in self._steps:
            results = step.run([env[n] for n in step.inputs])
            env.update(zip(step.outputs, results, strict=False))
        return tuple(env[n] for n in self.output_names)

    def parameters_by_producer(self) -> list[tuple[list[str], list[nn.Parameter]]]:
        """(step outputs, parameters it uses) in execution order: the raw material for freezing by blocks."""
        return [(s.outputs, [self.weights[k] for k in getattr(s.run, "weight_keys", ())]) for s in self._steps]

    # ---------------------------------------------------------------- constants
    def _const(self, name: str):
        return self._consts.get(name) if name else None

    def _scalar(self, name: str, default=0.0) -> float:
        value = self._const(name)
        if value is None:
            return default
        if value.size != 1:
            raise ConversionError(f"{name}: per-channel quantization of an activation is not supported")
        return float(value.reshape(()))

    def _weight(self, name: str, value: np.ndarray) -> str:
        if name not in self._weight_keys:
            key = f"w{len(self._weight_keys)}_{safe_name(name)}"[:120]
            self.weights[key] = nn.Parameter(torch.tensor(np.asarray(value, dtype=np.float32)))
            self._weight_keys[name] = key
        return self._weight_keys[name]

    def _buffer(self, name: str, value: np.ndarray) -> str:
        if name not in self._buffer_keys:
            key = f"c{len(self._buffer_keys)}_{safe_name(name)}"[:120]
            self.register_buffer(key, torch.tensor(np.asarray(value)), persistent=True)
            self._buffer_keys[name] = key
        return self._buffer_keys[name]

    def _operand(self, op: str, slot: int, name: str):
        """A constant as a getter (weight or buffer), or None when the tensor is computed at runtime."""
        value = self._const(name)
        if value is None:
            return None
        if (op, slot) in _TRAINABLE_SLOTS and value.dtype.kind == "f" and value.size > 1:
            key = self._weight(name, value)
            getter = lambda: self.weights[key]  # noqa: E731
            getter.weight_key = key
            return getter
        if value.dtype.kind == "f":
            value = value.astype(np.float32)
        key = self._buffer(name, value)
        return lambda: getattr(self, key)

    # ---------------------------------------------------------------- lowering
    def _lower(self, node: onnx.NodeProto) -> None:
        op = node.op_type
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        ins = list(node.input)
        if ins and all((not n) or n in self._consts for n in ins) and op in _FOLDABLE:
            self._fold(node, attrs)
            return
        lower = self._binary(op, ELEMENTWISE[op]) if op in ELEMENTWISE else getattr(self, f"_op_{op}", None)
        if lower is None:
            raise ConversionError(f"unsupported op {node.domain or 'ai.onnx'}:{op} (node {node.name or node.output[0]})")
        lower(node, attrs, ins)

    def _add(self, op, runtime_inputs, outputs, fn, weight_keys=()):
        fn.weight_keys = tuple(weight_keys)
        self._steps.append(_Step(op, list(runtime_inputs), list(outputs), fn))

    def _fold(self, node, attrs) -> None:
        """Constant subgraphs (dequantizing a weight, reshaping a constant) are computed once, in numpy."""
        x = [self._const(n) for n in node.input]
        op = node.op_type
        if op == "DequantizeLinear":
            out = dequantize(x[0], x[1], x[2] if len(x) > 2 else None, attrs.get("axis", 1))
        elif op == "QuantizeLinear":
            zp = x[2] if len(x) > 2 and x[2] is not None else np.zeros((), np.uint8)
            axis = attrs.get("axis", 1)
            scale = broadcast(x[1], x[0].ndim, axis)
            q = np.clip(np.rint(x[0] / scale) + broadcast(zp, x[0].ndim, axis), *_NP_RANGES[zp.dtype])
            out = q.astype(zp.dtype)
        elif op == "Transpose":
            out = np.transpose(x[0], attrs.get("perm"))
        elif op == "Reshape":
            out = x[0].reshape([d if d != 0 else x[0].shape[i] for i, d in enumerate(x[1].tolist())])
        elif op in ("Unsqueeze", "Squeeze"):
            axes = attrs.get("axes") if "axes" in attrs else (x[1].tolist() if len(x) > 1 and x[1] is not None else None)
            out = (np.expand_dims(x[0], tuple(axes)) if op == "Unsqueeze"
                   else np.squeeze(x[0], axis=None if axes is None else tuple(axes)))
        elif op == "Cast":
            out = x[0].astype(helper.tensor_dtype_to_np_dtype(attrs["to"]))
        elif op == "Identity":
            out = x[0]
        elif op == "Concat":
            out = np.concatenate(x, axis=attrs["axis"])
        else:  # pragma: no cover - _FOLDABLE and this chain agree
            raise ConversionError(f"cannot fold {op}")
        self._consts[node.output[0]] = np.asarray(out)

    def _saturate(self, x: torch.Tensor, scale: float, zero_point: float, qrange: tuple[int, int]) -> torch.Tensor:
        lo, hi = (qrange[0] - zero_point) * scale, (qrange[1] - zero_point) * scale
        if not self.fake_quant:
            return torch.clamp(x, lo, hi)
        q = torch.clamp(torch.round(x / scale) + zero_point, qrange[0], qrange[1])
        return x + ((q - zero_point) * scale - x).detach()  # straight-through: rounding has no useful gradient

    def _qparams(self, scale_name: str, zp_name: str | None):
        zp = self._const(zp_name) if zp_name else None
        qrange = _NP_RANGES[zp.dtype] if zp is not None else (0, 255)
        return self._scalar(scale_name, 1.0), self._scalar(zp_name, 0.0) if zp_name else 0.0, qrange

    # -- quantization
    def _op_QuantizeLinear(self, node, attrs, ins):
        scale, zp, qrange = self._qparams(ins[1], ins[2] if len(ins) > 2 else None)
        self._add("QuantizeLinear", ins[:1], node.output, lambda t: [self._saturate(t[0], scale, zp, qrange)])

    def _op_DequantizeLinear(self, node, attrs, ins):
        scale, zp, _ = self._qparams(ins[1], ins[2] if len(ins) > 2 else None)
        if ins[0] in self._raw_int:
            self._add("DequantizeLinear", ins[:1], node.output, lambda t: [(t[0] - zp) * scale])
        else:  # the runtime tensor already holds the real value
            self._add("DequantizeLinear", ins[:1], node.output, lambda t: [t[0]])

    def _op_QLinearConv(self, node, attrs, ins):
        x_scale = self._scalar(ins[1])
        w = dequantize(self._const(ins[3]), self._const(ins[4]), self._const(ins[5]), 0)
        y_scale, y_zp, qrange = self._qparams(ins[6], ins[7])
        w_key = self._weight(ins[3], w)
        keys = [w_key]
        if len(ins) > 8 and ins[8]:
            w_scale = np.asarray(self._const(ins[4]), np.float64).reshape(-1)
            bias = self._const(ins[8]).astype(np.float64) * x_scale * w_scale
            keys.append(self._weight(ins[8], bias))
        conv = conv_fn(attrs)

        def run(t):
            bias = self.weights[keys[1]] if len(keys) > 1 else None
            return [self._saturate(conv(t[0], self.weights[w_key], bias), y_scale, y_zp, qrange)]

        self._add("QLinearConv", ins[:1], node.output, run, keys)

    def _op_QLinearMatMul(self, node, attrs, ins):
        a = self._const(ins[0])
        b = self._const(ins[3])
        if a is not None or b is None:
            raise ConversionError("QLinearMatMul: only a runtime left operand and a constant right operand are supported")
        w = dequantize(b, self._const(ins[4]), self._const(ins[5]), 1)
        key = self._weight(ins[3], w)
        y_scale, y_zp, qrange = self._qparams(ins[6], ins[7])
        self._add("QLinearMatMul", ins[:1], node.output,
                  lambda t: [self._saturate(torch.matmul(t[0], self.weights[key]), y_scale, y_zp, qrange)], [key])

    def _op_QLinearAdd(self, node, attrs, ins):
        y_scale, y_zp, qrange = self._qparams(ins[6], ins[7] if len(ins) > 7 else None)
        operands, runtime, keys = [], [], []
        for value_i, scale_i, zp_i in ((0, 1, 2), (3, 4, 5)):
            const = self._const(ins[value_i])
            if const is None:
                operands.append(None)
                runtime.append(ins[value_i])
            else:
                real = dequantize(const, self._const(ins[scale_i]), self._const(ins[zp_i]), 1)
                key = self._weight(ins[value_i], real)
                keys.append(key)
                operands.append(key)

        def run(t):
            it = iter(t)
            a, b = (next(it) if k is None else self.weights[k] for k in operands)
            return [self._saturate(a + b, y_scale, y_zp, qrange)]

        self._add("QLinearAdd", runtime, node.output, run, keys)

    def _op_QLinearGlobalAveragePool(self, node, attrs, ins):
        if attrs.get("channels_last", 0):
            raise ConversionError("QLinearGlobalAveragePool with channels_last=1 is not supported")
        y_scale, y_zp, qrange = self._qparams(ins[3], ins[4])
        self._add("QLinearGlobalAveragePool", ins[:1], node.output,
                  lambda t: [self._saturate(t[0].mean(dim=(2, 3), keepdim=True), y_scale, y_zp, qrange)])

    # -- float compute with weights
    def _op_Conv(self, node, attrs, ins):
        w = self._operand("Conv", 1, ins[1])
        b = self._operand("Conv", 2, ins[2]) if len(ins) > 2 and ins[2] else None
        if w is None:
            raise ConversionError("Conv: runtime weights are not supported")
        conv = conv_fn(attrs)
        keys = [g.weight_key for g in (w, b) if g is not None and hasattr(g, "weight_key")]
        self._add("Conv", ins[:1], node.output, lambda t: [conv(t[0], w(), b() if b else None)], keys)

    def _op_Gemm(self, node, attrs, ins):
        alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
        trans_a, trans_b = attrs.get("transA", 0), attrs.get("transB", 0)
        b = self._operand("Gemm", 1, ins[1])
        c = self._operand("Gemm", 2, ins[2]) if len(ins) > 2 and ins[2] else None
        if b is None:
            raise ConversionError("Gemm: a runtime right operand is not supported")

        def run(t):
            a = t[0].transpose(0, 1) if trans_a else t[0]
            w = b().transpose(0, 1) if trans_b else b()
            y = torch.matmul(a, w) * alpha if alpha != 1.0 else torch.matmul(a, w)
            return [y + beta * c() if c else y]

        keys = [g.weight_key for g in (b, c) if g is not None and hasattr(g, "weight_key")]
        self._add("Gemm", ins[:1], node.output, run, keys)

    def _op_BatchNormalization(self, node, attrs, ins):
        eps = attrs.get("epsilon", 1e-5)
        scale, bias = self._operand("BatchNormalization", 1, ins[1]), self._operand("BatchNormalization", 2, ins[2])
        mean, var = self._operand("BatchNormalization", 3, ins[3]), self._operand("BatchNormalization", 4, ins[4])
        # The graph's running statistics are kept fixed: an exported BatchNormalization is inference-mode.
        self._add("BatchNormalization", ins[:1], node.output,
                  lambda t: [F.batch_norm(t[0], mean(), var(), scale(), bias(), False, 0.0, eps)],
                  [g.weight_key for g in (scale, bias) if hasattr(g, "weight_key")])

    def _binary(self, op, fn):
        def lower(node, attrs, ins):
            getters = [self._operand(op, i, n) for i, n in enumerate(ins)]
            runtime = [n for n, g in zip(ins, getters, strict=False) if g is None]

            def run(t):
                it = iter(t)
                values = [next(it) if g is None else g() for g in getters]
                return [fn(values)]

            self._add(op, runtime, node.output, run, [g.weight_key for g in getters if hasattr(g, "weight_key")])
        return lower

    # -- activations and shape plumbing
    def _op_Relu(self, node, attrs, ins):
        self._add("Relu", ins, node.output, lambda t: [F.relu(t[0])])

    def _op_Sigmoid(self, node, attrs, ins):
        self._add("Sigmoid", ins, node.output, lambda t: [torch.sigmoid(t[0])])

    def _op_HardSigmoid(self, node, attrs, ins):
        alpha, beta = attrs.get("alpha", 0.2), attrs.get("beta", 0.5)
        self._add("HardSigmoid", ins, node.output, lambda t: [torch.clamp(t[0] * alpha + beta, 0.0, 1.0)])

    def _op_HardSwish(self, node, attrs, ins):
        self._add("HardSwish", ins, node.output, lambda t: [F.hardswish(t[0])])

    def _op_Clip(self, node, attrs, ins):
        if self.opset < 11:
            lo, hi = attrs.get("min"), attrs.get("max")
        else:
            lo = self._scalar(ins[1]) if len(ins) > 1 and ins[1] else None
            hi = self._scalar(ins[2]) if len(ins) > 2 and ins[2] else None
        self._add("Clip", ins[:1], node.output, lambda t: [torch.clamp(t[0], lo, hi)])

    def _op_Softmax(self, node, attrs, ins):
        axis = attrs.get("axis", -1 if self.opset >= 13 else 1)
        self._add("Softmax", ins, node.output, lambda t: [torch.softmax(t[0], dim=axis)])

    def _op_GlobalAveragePool(self, node, attrs, ins):
        self._add("GlobalAveragePool", ins, node.output,
                  lambda t: [t[0].mean(dim=tuple(range(2, t[0].dim())), keepdim=True)])

    def _op_ReduceMean(self, node, attrs, ins):
        axes = attrs.get("axes") or (self._const(ins[1]).tolist() if len(ins) > 1 and ins[1] else None)
        keep = bool(attrs.get("keepdims", 1))
        self._add("ReduceMean", ins[:1], node.output,
                  lambda t: [t[0].mean(dim=tuple(axes) if axes else tuple(range(t[0].dim())), keepdim=keep)])

    def _op_MaxPool(self, node, attrs, ins):
        pool = pool_fn(attrs, lambda x, k, s, p, c: F.max_pool2d(x, k, s, p, ceil_mode=c), float("-inf"))
        self._add("MaxPool", ins, node.output[:1], lambda t: [pool(t[0])])

    def _op_AveragePool(self, node, attrs, ins):
        include_pad = bool(attrs.get("count_include_pad", 0))
        pool = pool_fn(attrs, lambda x, k, s, p, c: F.avg_pool2d(x, k, s, p, ceil_mode=c, count_include_pad=include_pad), 0.0)
        self._add("AveragePool", ins, node.output, lambda t: [pool(t[0])])

    def _op_Pad(self, node, attrs, ins):
        if attrs.get("mode", b"constant") not in (b"constant", "constant"):
            raise ConversionError("Pad: only constant mode is supported")
        pads = attrs.get("pads") or self._const(ins[1]).tolist()
        value = attrs.get("value", 0.0)
        if len(ins) > 2 and ins[2]:
            value = self._scalar(ins[2])
        rank = len(pads) // 2
        torch_pads = [p for d in reversed(range(rank)) for p in (pads[d], pads[d + rank])]
        self._add("Pad", ins[:1], node.output, lambda t: [F.pad(t[0], torch_pads, value=value)])

    def _op_Flatten(self, node, attrs, ins):
        axis = attrs.get("axis", 1)
        self._add("Flatten", ins, node.output, lambda t: [torch.flatten(t[0], axis) if axis > 0 else t[0].reshape(1, -1)])

    def _op_Transpose(self, node, attrs, ins):
        perm = attrs.get("perm")
        self._add("Transpose", ins, node.output, lambda t: [t[0].permute(*perm) if perm else t[0].permute(*reversed(range(t[0].dim())))])

    def _op_Reshape(self, node, attrs, ins):
        const_shape = self._const(ins[1])

        def run(t):
            x = t[0]
            if const_shape is None:
                return [x.reshape(list(t[1]))]
            shape = [x.size(i) if d == 0 else d for i, d in enumerate(const_shape.tolist())]
            # Graphs exported with a fixed batch of 1 (ShuffleNet's channel shuffle) hard-code it: keep the batch dynamic.
            if shape and shape[0] == 1 and x.dim() >= 2:
                shape[0] = x.size(0)
            return [x.reshape(shape)]

        self._add("Reshape", ins[:1] if const_shape is not None else ins[:2], node.output, run)

    def _op_Squeeze(self, node, attrs, ins):
        axes = attrs.get("axes") or (self._const(ins[1]).tolist() if len(ins) > 1 and ins[1] else None)

        def run(t):
            x = t[0]
            if isinstance(x, list):
                return [x[0]]
            for axis in sorted((a % x.dim() for a in axes), reverse=True) if axes else []:
                x = x.squeeze(axis)
            return [x if axes else x.squeeze()]

        self._add("Squeeze", ins[:1], node.output, run)

    def _op_Unsqueeze(self, node, attrs, ins):
        axes = attrs.get("axes") or self._const(ins[1]).tolist()

        def run(t):
            x = t[0]
            if not isinstance(x, torch.Tensor) or x.dim() == 0 and axes == [0]:
                return [[x]]  # a shape element becoming a 1-element shape list
            for axis in sorted(axes):
                x = x.unsqueeze(axis)
            return [x]

        self._add("Unsqueeze", ins[:1], node.output, run)

    def _op_Concat(self, node, attrs, ins):
        axis = attrs["axis"]
        parts = [(n, self._const(n)) for n in ins]
        runtime = [n for n, c in parts if c is None]

        def run(t):
            it = iter(t)
            values = [next(it) if c is None else c for _, c in parts]
            if any(isinstance(v, list) for v in values):  # shape arithmetic stays symbolic for the exporter
                return [[d for v in values for d in (v if isinstance(v, list) else v.tolist())]]
            device = next(v.device for v in values if isinstance(v, torch.Tensor))
            return [torch.cat([torch.as_tensor(v, device=device) for v in values], dim=axis)]

        self._add("Concat", runtime, node.output, run)

    def _op_Split(self, node, attrs, ins):
        axis = attrs.get("axis", 0)
        sizes = attrs.get("split") or (self._const(ins[1]).tolist() if len(ins) > 1 and ins[1] else None)
        n_out = len(node.output)
        self._add("Split", ins[:1], node.output,
                  lambda t: list(torch.split(t[0], sizes, dim=axis) if sizes else torch.chunk(t[0], n_out, dim=axis)))

    def _op_Shape(self, node, attrs, ins):
        self._add("Shape", ins, node.output, lambda t: [[t[0].size(i) for i in range(t[0].dim())]])

    def _op_Gather(self, node, attrs, ins):
        axis = attrs.get("axis", 0)
        index = self._const(ins[1])
        if index is None:
            raise ConversionError("Gather: runtime indices are not supported")

        def run(t):
            x = t[0]
            if isinstance(x, list):
                return [x[int(index)] if index.ndim == 0 else [x[int(i)] for i in index.ravel()]]
            idx = torch.as_tensor(index, dtype=torch.long, device=x.device)
            return [x.index_select(axis, idx.reshape(-1)).reshape(x.shape[:axis] + idx.shape + x.shape[axis + 1:])]

        self._add("Gather", ins[:1], node.output, run)

    def _op_Identity(self, node, attrs, ins):
        self._add("Identity", ins, node.output, lambda t: [t[0]])

    def _op_Cast(self, node, attrs, ins):
        to = helper.tensor_dtype_to_np_dtype(attrs["to"])
        self._add("Cast", ins, node.output,
                  lambda t: [t[0] if isinstance(t[0], list) or np.dtype(to).kind == "f" else t[0].to(torch.int64)])


_FOLDABLE = {"DequantizeLinear", "QuantizeLinear", "Transpose", "Reshape", "Unsqueeze", "Squeeze", "Cast",
             "Identity", "Concat"}

