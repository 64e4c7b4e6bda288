"""Pretrained backbones as trainable modules: any registry ONNX model, or torchvision weights by name.

A backbone maps a preprocessed NCHW float batch to named feature tensors: `final` is the pooled penultimate code
[N, C]; the other cut points are earlier block outputs, kept so the exported model has them under stable names.
`blocks()` lists its parameters block by block, shallow → deep, for freezing the first K.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import onnx
import torch
from torch import nn

from .errors import ConfigError
from .known_backbones import IMAGENET_PREPROCESS, KNOWN_ONNX_BACKBONES, OnnxBackboneSpec
from .onnx_to_torch import OnnxGraphModule

_POOL_OPS = {"GlobalAveragePool", "QLinearGlobalAveragePool", "ReduceMean"}


class Backbone(nn.Module):
    name: str
    preprocess: dict
    license: str | None = None
    cut_descriptions: dict[str, str]  # shallow → deep, without 'final'
    dims: dict[str, int]  # every cut point, 'final' included

    def blocks(self) -> list[list[nn.Parameter]]:
        raise NotImplementedError

    def freeze_first(self, k: int) -> None:
        for params in self.blocks()[:k]:
            for p in params:
                p.requires_grad_(False)


def _pooled(feature: torch.Tensor) -> torch.Tensor:
    return feature.mean(dim=(2, 3)) if feature.dim() == 4 else feature.flatten(1)


class OnnxBackbone(Backbone):
    def __init__(self, model: onnx.ModelProto, spec: OnnxBackboneSpec, *, fake_quant: bool = False):
        super().__init__()
        self.name, self.spec, self.preprocess, self.license = spec.name, spec, dict(spec.preprocess), spec.license
        self.nhwc = spec.layout == "NHWC"
        feature = spec.feature_tensor or _last_pooled_input(model.graph)
        cut_points = dict(spec.cut_points)
        boundaries = list(spec.block_outputs) if spec.block_outputs else None
        if boundaries is None or not cut_points:
            probe = OnnxGraphModule(model, [feature])
            boundaries = boundaries or _single_tensor_cuts(probe, feature)
            if not cut_points:
                shapes = _probe_shapes(model, boundaries, self.nhwc, spec.preprocess)
                cut_points = {f"cut{i}": (t, f"last block output at {shapes[t][-1]}×{shapes[t][-1]}")
                              for i, t in _last_per_resolution(boundaries, shapes, feature)}
        self.cut_names = list(cut_points)
        self.cut_descriptions = {k: d for k, (_, d) in cut_points.items()}
        self.graph = OnnxGraphModule(model, [feature, *(t for t, _ in cut_points.values())], fake_quant=fake_quant)
        self._boundaries = [b for b in boundaries if b != feature]
        with torch.no_grad():
            out = self.forward(torch.zeros(1, 3, *spec.preprocess["crop"]))
        self.dims = {k: int(v.shape[1]) for k, v in out.items()}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.nhwc:
            x = x.permute(0, 2, 3, 1)
        feature, *cuts = self.graph(x)
        return {**dict(zip(self.cut_names, cuts, strict=False)), "final": _pooled(feature)}

    def blocks(self) -> list[list[nn.Parameter]]:
        blocks, current = [], []
        pending = set(self._boundaries)
        for outputs, params in self.graph.parameters_by_producer():
            current.extend(p for p in params if all(p is not q for q in current))
            if pending.intersection(outputs):
                pending.difference_update(outputs)
                if current:
                    blocks.append(current)
                    current = []
        if current:
            blocks.append(current)
        return blocks


class TorchvisionBackbone(Backbone):
    """ResNet-style (conv1 … layer4) and `.features`-style (MobileNet, EfficientNet) torchvision classifiers."""

    def __init__(self, arch: str, weights: str | None):
        super().__init__()
        import torchvision

        builder = getattr(torchvision.models, arch, None)
        if builder is None or not callable(builder):
            raise ConfigError(f'unknown torchvision model "{arch}"')
        net = builder(weights=weights)
        # No license claimed: torchvision's weights come with their own terms (see the torchvision docs per model).
        self.name, self.preprocess, self.license = f"torchvision-{arch}", dict(IMAGENET_PREPROCESS), None
        if hasattr(net, "layer4"):
            stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
            self.stages = nn.ModuleList([stem, net.layer1, net.layer2, net.layer3, net.layer4])
            stage_names = ["stem", "layer1", "layer2", "layer3", "layer4"]
        elif isinstance(getattr(net, "features", None), nn.Sequential):
            self.stages = nn.ModuleList(list(net.features))
            stage_names = [f"block{i}" for i in range(len(self.stages))]
        else:
            raise ConfigError(f'torchvision model "{arch}" has neither layer1..4 nor .features: not supported')
        self._frozen = 0
        with torch.no_grad():
            shapes = [tuple(t.shape) for t in self._stage_outputs(torch.zeros(1, 3, 224, 224))]
        picks = _last_per_resolution(range(len(shapes) - 1), {i: s for i, s in enumerate(shapes)}, None)
        self._cut_stage = {stage_names[i]: i for _, i in picks if i > 0}
        self.cut_descriptions = {n: f"{n} output ({shapes[i][-1]}×{shapes[i][-1]})" for n, i in self._cut_stage.items()}
        self.dims = {**{n: shapes[i][1] for n, i in self._cut_stage.items()}, "final": shapes[-1][1]}

    def _stage_outputs(self, x):
        outs = []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return outs

    def forward(self, x):
        outs = self._stage_outputs(x)
        return {**{n: outs[i] for n, i in self._cut_stage.items()}, "final": _pooled(outs[-1])}

    def blocks(self):
        return [list(s.parameters()) for s in self.stages]

    def freeze_first(self, k: int) -> None:
        super().freeze_first(k)
        self._frozen = min(k, len(self.stages))

    def train(self, mode: bool = True):
        super().train(mode)
        for stage in list(self.stages)[: self._frozen]:
            stage.eval()  # frozen blocks keep their ImageNet BatchNorm statistics
        return self


# ---------------------------------------------------------------------------------------------- resolving names
def load_backbone(source: dict, models_dirs: Sequence[Path], *, fake_quant: bool = False) -> Backbone:
    """`{"registry": name-or-path}` or `{"torchvision": arch, "weights": "DEFAULT" | None}` → backbone."""
    if "torchvision" in source:
        return TorchvisionBackbone(source["torchvision"], source.get("weights"))
    path, spec = resolve_registry_model(source["registry"], models_dirs)
    return OnnxBackbone(onnx.load(str(path)), spec, fake_quant=fake_quant)


def resolve_registry_model(name: str, models_dirs: Sequence[Path]) -> tuple[Path, OnnxBackboneSpec]:
    as_path = Path(name)
    if name.endswith(".json"):
        return _from_descriptor(as_path)
    if name.endswith(".onnx"):
        if not as_path.is_file():
            raise ConfigError(f"ONNX model {name} not found")
        known = next((s for s in KNOWN_ONNX_BACKBONES.values() if s.file == as_path.name), None)
        return as_path, known or _generic_spec(as_path)
    for folder in models_dirs:
        for descriptor in (folder / name / f"{name}.json", folder / f"{name}.json"):
            if descriptor.is_file():
                return _from_descriptor(descriptor)
        known = KNOWN_ONNX_BACKBONES.get(name)
        if known:
            for candidate in (folder / name / known.file, folder / known.file):
                if candidate.is_file():
                    return candidate, known
    searched = ", ".join(str(d) for d in models_dirs) or "(no models folder)"
    raise ConfigError(f'backbone "{name}" not found in {searched}; known built-ins: {", ".join(KNOWN_ONNX_BACKBONES)}')


def _from_descriptor(path: Path) -> tuple[Path, OnnxBackboneSpec]:
    try:
        d = json.loads(path.read_text())
        cuts = dict(d["cutPoints"])
        final = cuts.pop("final")
        spec = OnnxBackboneSpec(
            name=d["name"], file=d["file"], input_name=d["input"]["name"], layout=d["input"]["layout"],
            dtype=d["input"]["dtype"], preprocess=dict(d["preprocess"]), license=d.get("license"),
            feature_tensor=final["tensor"],
            cut_points={k: (c["tensor"], c.get("description", k)) for k, c in cuts.items()},
        )
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"model descriptor {path}: {err}") from err
    if any("dequantize" in c for c in d["cutPoints"].values()):
        raise ConfigError(f"model descriptor {path}: explicit 'dequantize' cut points are not supported here")
    return path.parent / spec.file, spec


def _generic_spec(path: Path) -> OnnxBackboneSpec:
    model = onnx.load(str(path), load_external_data=False)
    inits = {t.name for t in model.graph.initializer}
    graph_input = next(i for i in model.graph.input if i.name not in inits)
    # An unknown graph is assumed to take the torchvision convention: float NCHW, ImageNet mean/std.
    return OnnxBackboneSpec(name=path.stem, file=path.name, input_name=graph_input.name, layout="NCHW",
                            dtype="float32", preprocess=dict(IMAGENET_PREPROCESS))


# ---------------------------------------------------------------------------------------------- graph analysis
def _last_pooled_input(graph: onnx.GraphProto) -> str:
    pools = [n for n in graph.node if n.op_type in _POOL_OPS]
    if not pools:
        raise ConfigError("cannot find the backbone's global pooling; give a descriptor with a 'final' cut point")
    return pools[-1].input[0]


def _single_tensor_cuts(module: OnnxGraphModule, feature: str) -> list[str]:
    """Tensors through which everything flows (no skip connection crosses them), in execution order."""
    steps = module._steps  # noqa: SLF001 - analysis of the same package's structure
    last_use = {}
    for i, step in enumerate(steps):
        for name in step.inputs:
            last_use[name] = i
    cuts, live = [], set(module.input_names)
    for i, step in enumerate(steps):
        live = {n for n in live if last_use.get(n, -1) > i}
        live.update(n for n in step.outputs if last_use.get(n, -1) > i or n == feature)
        if len(live) == 1 and live <= set(step.outputs):
            cuts.append(step.outputs[0])
    return cuts


def _probe_shapes(model, tensors, nhwc, preprocess) -> dict:
    probe = OnnxGraphModule(model, list(tensors))
    x = torch.zeros(1, 3, *preprocess["crop"])
    with torch.no_grad():
        values = probe(x.permute(0, 2, 3, 1) if nhwc else x)
    return {t: tuple(v.shape) for t, v in zip(tensors, values, strict=False)}


def _last_per_resolution(keys, shapes: dict, exclude) -> list[tuple[int, object]]:
    """(ordinal, key) of the last 4-D tensor at each spatial size, shallow → deep: the classic transfer cut points."""
    last = {}
    for key in keys:
        shape = shapes[key]
        if key != exclude and len(shape) == 4:
            last[shape[-1]] = key
    ordered = [k for k in keys if k in last.values()]
    return list(enumerate(ordered))
