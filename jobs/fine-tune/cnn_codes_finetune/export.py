"""Fine-tuned network → `<out>/<name>/<name>.onnx` (fp32, dynamic batch) + `<name>.json`, the descriptor the
TypeScript registry reads (core/models/descriptor.ts), + `labels.txt` (the new head's classes).

The graph's one output is `logits`; every cut point is a tensor of that name in the graph (`final` is the pooled
penultimate code [N, C], the others are NCHW block outputs), which is what the TypeScript side appends as outputs.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from .train import FineTuneNet

OPSET = 13
INPUT_NAME = "input"
LOGITS = "logits"


class _ExportView(nn.Module):
    def __init__(self, net: FineTuneNet, cut_names: list[str]):
        super().__init__()
        self.net, self.cut_names = net, cut_names

    def forward(self, x):
        logits, cuts = self.net.forward_with_cuts(x)
        return (logits, *(cuts[n] for n in self.cut_names))


def export_model(net: FineTuneNet, classes: list[str], out_root: Path, name: str, *, source: str | None = None) -> Path:
    """Writes the model folder and returns the descriptor's path."""
    backbone = net.backbone
    folder = Path(out_root) / name
    folder.mkdir(parents=True, exist_ok=True)
    onnx_path = folder / f"{name}.onnx"
    cut_names = [*backbone.cut_descriptions, "final"]
    crop = backbone.preprocess["crop"]

    net = net.to("cpu").float().eval().to(memory_format=torch.contiguous_format)
    dummy = torch.zeros(2, 3, *crop)
    kwargs = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    with torch.no_grad():
        torch.onnx.export(
            _ExportView(net, cut_names), (dummy,), str(onnx_path), input_names=[INPUT_NAME],
            output_names=[LOGITS, *cut_names], opset_version=OPSET, do_constant_folding=True,
            dynamic_axes={n: {0: "batch"} for n in (INPUT_NAME, LOGITS, *cut_names)}, **kwargs,
        )
    _keep_only_logits_output(onnx_path, cut_names)

    (folder / "labels.txt").write_text("\n".join(classes))
    descriptor = {
        "version": 1,
        "name": name,
        "file": onnx_path.name,
        "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "input": {"name": INPUT_NAME, "layout": "NCHW", "dtype": "float32", "batch": "dynamic", "size": list(crop)},
        "preprocess": {k: backbone.preprocess[k] for k in ("resize", "crop", "kernel", "scale", "mean", "std")},
        "cutPoints": {
            **{n: {"tensor": n, "dim": backbone.dims[n], "description": d} for n, d in backbone.cut_descriptions.items()},
            "final": {"tensor": "final", "dim": backbone.dims["final"], "layout": "NC",
                      "description": f"pooled penultimate code (fine-tuned from {source or backbone.name})"},
        },
        "labels": "labels.txt",
    }
    if backbone.license:
        descriptor["license"] = backbone.license
    descriptor_path = folder / f"{name}.json"
    descriptor_path.write_text(json.dumps(descriptor, indent=2) + "\n")
    return descriptor_path


def _keep_only_logits_output(path: Path, cut_names: list[str]) -> None:
    model = onnx.load(str(path))
    produced = {o for node in model.graph.node for o in node.output}
    missing = [n for n in cut_names if n not in produced]
    if missing:
        raise RuntimeError(f"exported graph lacks cut tensors {missing}")
    keep = [o for o in model.graph.output if o.name == LOGITS]
    del model.graph.output[:]
    model.graph.output.extend(keep)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def compare_with_onnxruntime(net: FineTuneNet, descriptor_path: Path, images: torch.Tensor) -> dict:
    """Runs the exported file with onnxruntime (logits and every cut tensor) against PyTorch on the same batch."""
    import onnxruntime as ort

    descriptor = json.loads(Path(descriptor_path).read_text())
    model = onnx.load(str(Path(descriptor_path).parent / descriptor["file"]))
    cut_names = list(descriptor["cutPoints"])
    for n in cut_names:
        model.graph.output.append(onnx.ValueInfoProto(name=n))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ort_out = dict(zip([LOGITS, *cut_names], session.run([LOGITS, *cut_names], {INPUT_NAME: images.numpy()}), strict=False))
    net = net.to("cpu").eval()
    with torch.no_grad():
        logits, cuts = net.forward_with_cuts(images)
    torch_out = {LOGITS: logits, **cuts}
    report = {}
    for n, value in ort_out.items():
        ref = torch_out[n].numpy()
        report[n] = {"maxAbsDiff": float(np.abs(value - ref).max()), "maxAbs": float(np.abs(ref).max()),
                     "shape": list(value.shape)}
    return report
