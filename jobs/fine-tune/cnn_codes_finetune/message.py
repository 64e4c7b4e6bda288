"""The `fine-tune` message (version 1): what Batch passes as a parameter or what the job reads from SQS.

Validation is strict: unknown fields and bad values are rejected with the field's path, so a typo such as
`"learningRate"` fails loudly instead of silently training with the default.

    {
      "type": "fine-tune", "version": 1, "requestId": "optional, echoed in the result",
      "data": {"location": "s3://bucket/hymenoptera" | "/data/hymenoptera", "valFraction": 0.2, "maxPerClass": null},
      "backbone": {"registry": "mobilenetv2-12-int8"} | {"torchvision": "resnet18", "weights": "DEFAULT"},
      "output": {"location": "s3://bucket/models" | "/models", "name": "hymenoptera-mobilenetv2-ft"},
      "training": {"epochs": 25, "batchSize": 4, "lr": 0.001, "momentum": 0.9, "weightDecay": 0, "stepSize": 7,
                   "gamma": 0.1, "backboneLrScale": 0.1, "freezeBlocks": 0 | "all", "augment": true,
                   "amp": "auto", "channelsLast": "auto", "device": "auto", "numWorkers": 4, "seed": 0},
      "conversionCheck": {"images": 16, "minCosine": 0.9},
      "reportQueueUrl": "optional SQS queue that receives the result"
    }
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .contract import MESSAGE_TYPE, MESSAGE_VERSION
from .errors import ConfigError

VERSION = MESSAGE_VERSION
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


class MessageError(ConfigError):
    pass


@dataclass(frozen=True)
class DataSpec:
    location: str
    val_fraction: float = 0.2
    max_per_class: int | None = None


@dataclass(frozen=True)
class TrainingSpec:
    epochs: int = 25
    batch_size: int = 4
    lr: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 0.0
    step_size: int = 7
    gamma: float = 0.1
    backbone_lr_scale: float = 0.1
    freeze_blocks: int | str = 0
    augment: bool = True
    amp: bool | str = "auto"
    channels_last: bool | str = "auto"
    device: str = "auto"
    num_workers: int = 4
    seed: int = 0


@dataclass(frozen=True)
class ConversionCheckSpec:
    images: int = 16
    min_cosine: float = 0.9


@dataclass(frozen=True)
class FineTuneMessage:
    data: DataSpec
    backbone: dict
    output_location: str
    output_name: str
    training: TrainingSpec = field(default_factory=TrainingSpec)
    conversion_check: ConversionCheckSpec = field(default_factory=ConversionCheckSpec)
    request_id: str | None = None
    report_queue_url: str | None = None


def parse_message(raw: Any) -> FineTuneMessage:
    m = _Obj(raw, "message", {"type", "version", "requestId", "data", "backbone", "output", "training",
                               "conversionCheck", "reportQueueUrl"})
    if m.get("type", MESSAGE_TYPE) != MESSAGE_TYPE:
        raise MessageError(f'message.type: expected "{MESSAGE_TYPE}", got {m.raw["type"]!r}')
    if m.raw.get("version") != VERSION:
        raise MessageError(f"message.version: unsupported version {m.raw.get('version')!r} (expected {VERSION})")

    data = _Obj(m.require("data"), "data", {"location", "valFraction", "maxPerClass"})
    data_spec = DataSpec(
        location=data.string("location", required=True),
        val_fraction=data.number("valFraction", 0.2, lo=0.0, hi=1.0, lo_open=True, hi_open=True),
        max_per_class=data.integer("maxPerClass", None, lo=1),
    )

    backbone = _Obj(m.require("backbone"), "backbone", {"registry", "torchvision", "weights"})
    if ("registry" in backbone.raw) == ("torchvision" in backbone.raw):
        raise MessageError('backbone: give exactly one of "registry" (a registry model name) or "torchvision" (an arch)')
    if "registry" in backbone.raw:
        if "weights" in backbone.raw:
            raise MessageError('backbone.weights: only for "torchvision" backbones')
        backbone_spec = {"registry": backbone.string("registry", required=True)}
    else:
        backbone_spec = {"torchvision": backbone.string("torchvision", required=True),
                         "weights": backbone.string("weights", None, nullable=True)}

    output = _Obj(m.require("output"), "output", {"location", "name"})
    name = output.string("name", required=True)
    if not _NAME.match(name):
        raise MessageError('output.name: may use letters, digits, ".", "_" and "-" only')

    t = _Obj(m.raw.get("training", {}), "training", set(_TRAINING_KEYS))
    d = TrainingSpec()
    freeze = t.raw.get("freezeBlocks", d.freeze_blocks)
    if not (freeze == "all" or (isinstance(freeze, int) and not isinstance(freeze, bool) and freeze >= 0)):
        raise MessageError('training.freezeBlocks: must be a non-negative integer or "all"')
    training = TrainingSpec(
        epochs=t.integer("epochs", d.epochs, lo=1),
        batch_size=t.integer("batchSize", d.batch_size, lo=1),
        lr=t.number("lr", d.lr, lo=0.0, lo_open=True),
        momentum=t.number("momentum", d.momentum, lo=0.0, hi=1.0, hi_open=True),
        weight_decay=t.number("weightDecay", d.weight_decay, lo=0.0),
        step_size=t.integer("stepSize", d.step_size, lo=1),
        gamma=t.number("gamma", d.gamma, lo=0.0, hi=1.0, lo_open=True),
        backbone_lr_scale=t.number("backboneLrScale", d.backbone_lr_scale, lo=0.0),
        freeze_blocks=freeze,
        augment=t.boolean("augment", d.augment),
        amp=t.auto_bool("amp", d.amp),
        channels_last=t.auto_bool("channelsLast", d.channels_last),
        device=t.choice("device", d.device, ("auto", "cpu", "cuda")),
        num_workers=t.integer("numWorkers", d.num_workers, lo=0),
        seed=t.integer("seed", d.seed, lo=0),
    )

    c = _Obj(m.raw.get("conversionCheck", {}), "conversionCheck", {"images", "minCosine"})
    check = ConversionCheckSpec(images=c.integer("images", 16, lo=0),
                                min_cosine=c.number("minCosine", 0.9, lo=-1.0, hi=1.0))
    return FineTuneMessage(
        data=data_spec, backbone=backbone_spec, output_location=output.string("location", required=True),
        output_name=name, training=training, conversion_check=check,
        request_id=m.string("requestId", None, nullable=True), report_queue_url=m.string("reportQueueUrl", None, nullable=True),
    )


_TRAINING_KEYS = ("epochs", "batchSize", "lr", "momentum", "weightDecay", "stepSize", "gamma", "backboneLrScale",
                  "freezeBlocks", "augment", "amp", "channelsLast", "device", "numWorkers", "seed")


class _Obj:
    """One JSON object under validation; every error names the field's path."""

    def __init__(self, raw: Any, path: str, allowed: set[str]):
        if not isinstance(raw, dict):
            raise MessageError(f"{path}: must be a JSON object")
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise MessageError(f"{path}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
        self.raw, self.path = raw, path

    def get(self, key, default=None):
        return self.raw.get(key, default)

    def require(self, key):
        if key not in self.raw:
            raise MessageError(f"{self.path}.{key}: required")
        return self.raw[key]

    def string(self, key, default=None, *, required=False, nullable=False):
        if key not in self.raw:
            if required:
                raise MessageError(f"{self.path}.{key}: required")
            return default
        value = self.raw[key]
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not value:
            raise MessageError(f"{self.path}.{key}: must be a non-empty string")
        return value

    def integer(self, key, default, *, lo=None):
        value = self.raw.get(key, default)
        if value is None and default is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or (lo is not None and value < lo):
            raise MessageError(f"{self.path}.{key}: must be an integer ≥ {lo}, got {value!r}")
        return value

    def number(self, key, default, *, lo=None, hi=None, lo_open=False, hi_open=False):
        value = self.raw.get(key, default)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
        if ok and lo is not None:
            ok = value > lo if lo_open else value >= lo
        if ok and hi is not None:
            ok = value < hi if hi_open else value <= hi
        if not ok:
            bounds = f"{'(' if lo_open else '['}{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}{')' if hi_open else ']'}"
            raise MessageError(f"{self.path}.{key}: must be a number in {bounds}, got {value!r}")
        return float(value)

    def boolean(self, key, default):
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise MessageError(f"{self.path}.{key}: must be true or false, got {value!r}")
        return value

    def auto_bool(self, key, default):
        value = self.raw.get(key, default)
        if value != "auto" and not isinstance(value, bool):
            raise MessageError(f'{self.path}.{key}: must be true, false or "auto", got {value!r}')
        return value

    def choice(self, key, default, options):
        value = self.raw.get(key, default)
        if value not in options:
            raise MessageError(f"{self.path}.{key}: must be one of {', '.join(options)}, got {value!r}")
        return value
