"""How close the converted (trainable, float) backbone stays to the ONNX model it came from.

The reference is onnxruntime on the original graph, made exact on every CPU: on x86 without VNNI, onnxruntime's
u8×s8 int8 kernels add pairs of products in saturating int16 (vpmaddubsw), which moves mobilenetv2-12-int8's
logits far from the model's integer semantics. Re-encoding the int8 weights as uint8 (w + 128, zero point + 128:
the same numbers) selects the u8×u8 kernels, which do not saturate; graph optimizations are turned off so QDQ
graphs run as written (DequantizeLinear → float op → QuantizeLinear) instead of being fused into the same kernels.
"""

from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import numpy_helper

# Input slots of QOperator nodes that hold an int8 weight and its zero point.
_QLINEAR_WEIGHT_SLOTS = {"QLinearConv": [(3, 5)], "QLinearMatMul": [(3, 5), (0, 2)]}


def exact_reference_session(model: onnx.ModelProto):
    import onnxruntime as ort

    model = reencode_int8_weights_as_uint8(model)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def reencode_int8_weights_as_uint8(model: onnx.ModelProto) -> onnx.ModelProto:
    model = onnx.ModelProto.FromString(model.SerializeToString())
    inits = {t.name: t for t in model.graph.initializer}
    done = set()
    for node in model.graph.node:
        for w_slot, zp_slot in _QLINEAR_WEIGHT_SLOTS.get(node.op_type, []):
            w, zp = node.input[w_slot], node.input[zp_slot]
            if w in done or w not in inits or zp not in inits:
                continue
            w_val, zp_val = numpy_helper.to_array(inits[w]), numpy_helper.to_array(inits[zp])
            if w_val.dtype == np.int8 and zp_val.dtype == np.int8:
                inits[w].CopyFrom(numpy_helper.from_array((w_val.astype(np.int16) + 128).astype(np.uint8), w))
                inits[zp].CopyFrom(numpy_helper.from_array((zp_val.astype(np.int16) + 128).astype(np.uint8), zp))
                done.add(w)
    return model


def to_source_input(x: torch.Tensor, layout: str, dtype: str) -> np.ndarray:
    """A preprocessed NCHW float batch as the original graph takes it (e.g. uint8 NHWC for the ST model)."""
    if layout == "NHWC":
        x = x.permute(0, 2, 3, 1)
    array = x.detach().cpu().numpy()
    return np.clip(np.rint(array), 0, 255).astype(np.uint8) if dtype == "uint8" else array.astype(np.float32)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)


def compare_outputs(converted: np.ndarray, reference: np.ndarray) -> dict:
    cos = cosine_rows(converted, reference)
    top5 = [len(set(np.argsort(-c)[:5]) & set(np.argsort(-r)[:5])) / 5 for c, r in zip(converted, reference, strict=False)]
    return {
        "images": int(len(converted)),
        "cosineMean": float(cos.mean()), "cosineMin": float(cos.min()),
        "top1Agreement": float((converted.argmax(1) == reference.argmax(1)).mean()),
        "top5Overlap": float(np.mean(top5)),
        "maxAbsDiff": float(np.abs(converted - reference).max()),
        "referenceMaxAbs": float(np.abs(reference).max()),
    }


def check_conversion(model: onnx.ModelProto, spec, images: torch.Tensor, *, batch: int = 16) -> dict:
    """Float (trainable) converted module vs the exact onnxruntime reference, on the graph's own output."""
    from .onnx_to_torch import OnnxGraphModule

    output = model.graph.output[0].name
    session = exact_reference_session(model)
    ort_step = _fixed_batch(model, spec.input_name) or batch
    converted = OnnxGraphModule(model, [output]).eval()
    got, want = [], []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            source = to_source_input(images[i:i + batch], spec.layout, spec.dtype)
            got.append(converted(torch.from_numpy(source.astype(np.float32)))[0].numpy())
            want.extend(session.run([output], {spec.input_name: source[j:j + ort_step]})[0]
                        for j in range(0, len(source), ort_step))
    return {"output": output, **compare_outputs(np.concatenate(got), np.concatenate(want))}


def _fixed_batch(model: onnx.ModelProto, input_name: str) -> int | None:
    for i in model.graph.input:
        if i.name == input_name:
            dim = i.type.tensor_type.shape.dim[0]
            return dim.dim_value if dim.HasField("dim_value") and dim.dim_value > 0 else None
    return None
