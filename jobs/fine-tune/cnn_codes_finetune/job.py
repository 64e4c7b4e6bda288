"""One fine-tune job, start to finish: data → backbone (checked against its ONNX source) → training → export →
artefacts published. Pure of process concerns: the entry point passes the models folders and a progress callback."""

from __future__ import annotations

import json
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import onnx
import torch

from . import __version__
from .backbones import OnnxBackbone, load_backbone, resolve_registry_model
from .curve import write_curve_svg
from .data import BlobReader, ImageDataset, index_image_folder, limit_per_class, make_loader, transforms_for
from .errors import ConversionCheckError, DataError
from .export import compare_with_onnxruntime, export_model
from .fidelity import check_conversion
from .message import FineTuneMessage
from .storage import is_s3, publish_folder
from .train import EpochStats, FineTuneNet, Runtime, evaluate, fit, seed_everything

Progress = Callable[[dict], None]


def run_job(msg: FineTuneMessage, models_dirs: Sequence[Path], progress: Progress = lambda e: None) -> dict:
    started = time.perf_counter()
    spec = msg.training
    seed_everything(spec.seed)
    runtime = Runtime.resolve(spec)
    if runtime.device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    reader = BlobReader(msg.data.location)
    index = index_image_folder(reader, val_fraction=msg.data.val_fraction, seed=spec.seed)
    train_samples = limit_per_class(index.splits.get("train", []), msg.data.max_per_class)
    val_samples = limit_per_class(index.splits.get("val", []), msg.data.max_per_class)
    if not train_samples or not val_samples:
        raise DataError(f"{index.location}: need both train and val images (found {len(train_samples)} / {len(val_samples)})")
    progress({"event": "data", "classes": index.classes, "train": len(train_samples), "val": len(val_samples),
              "ignored": len(index.ignored), "splitSynthesized": index.split_synthesized})

    backbone = load_backbone(msg.backbone, models_dirs)
    preprocess = backbone.preprocess
    eval_tf = transforms_for(preprocess, train=False, augment=False)
    val_set = ImageDataset(reader, val_samples, eval_tf)

    conversion = None
    if isinstance(backbone, OnnxBackbone) and msg.conversion_check.images > 0:
        conversion = _check_conversion(msg, models_dirs, val_set)
        progress({"event": "conversion-check", **conversion})

    pin = runtime.device.type == "cuda"
    loaders = {
        "train": make_loader(ImageDataset(reader, train_samples, transforms_for(preprocess, train=True, augment=spec.augment)),
                             batch_size=spec.batch_size, shuffle=True, num_workers=spec.num_workers, seed=spec.seed, pin_memory=pin),
        "val": make_loader(val_set, batch_size=spec.batch_size, shuffle=False, num_workers=spec.num_workers,
                           seed=spec.seed, pin_memory=pin),
    }
    net = FineTuneNet(backbone, len(index.classes))

    def on_epoch(stats: EpochStats):
        progress({"event": "epoch", "epoch": stats.epoch, "phase": stats.phase, "loss": round(stats.loss, 4),
                  "accuracy": round(stats.accuracy, 4), "imagesPerS": round(stats.images_per_s, 2), "lr": stats.lr})

    result = fit(net, loaders, spec, runtime, on_epoch)
    restored = evaluate(net, loaders["val"], runtime)

    with tempfile.TemporaryDirectory(prefix="cnn-codes-ft-") as staging:
        out_root = Path(msg.output_location) if not is_s3(msg.output_location) else Path(staging)
        descriptor_path = export_model(net, index.classes, out_root, msg.output_name, source=backbone.name)
        probe = _first_images(val_set, 4)
        export_check = compare_with_onnxruntime(net, descriptor_path, probe)
        folder = descriptor_path.parent
        metrics = _metrics(msg, index, backbone, runtime, result, restored, conversion, export_check,
                           len(train_samples), len(val_samples), time.perf_counter() - started)
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        (folder / "history.json").write_text(json.dumps([vars(h) for h in result.history], indent=2) + "\n")
        write_curve_svg(result.history, folder / "curve.svg", title=f"{msg.output_name} ({backbone.name})")
        location = publish_folder(folder, msg.output_location)

    return {
        "event": "fine-tune.done", "status": "ok", "requestId": msg.request_id, "model": msg.output_name,
        "location": location, "descriptor": f"{location}/{msg.output_name}.json",
        "valAccuracy": result.best_val_accuracy, "bestEpoch": result.best_epoch,
    }


def _check_conversion(msg, models_dirs, val_set) -> dict:
    path, spec = resolve_registry_model(msg.backbone["registry"], models_dirs)
    report = check_conversion(onnx.load(str(path)), spec, _first_images(val_set, msg.conversion_check.images))
    if report["cosineMean"] < msg.conversion_check.min_cosine:
        raise ConversionCheckError(
            f"converted {spec.name} differs from onnxruntime: mean cosine of {report['output']} is "
            f"{report['cosineMean']:.4f} < {msg.conversion_check.min_cosine} on {report['images']} val images")
    return report


def _first_images(dataset, n: int) -> torch.Tensor:
    items = (dataset[i] for i in range(len(dataset)))
    return torch.stack([item[0] for item in items if item is not None][:n])


def _metrics(msg, index, backbone, runtime, result, restored, conversion, export_check, n_train, n_val, seconds) -> dict:
    spec = msg.training
    return {
        "model": msg.output_name,
        "backbone": {**msg.backbone, "name": backbone.name},
        "data": {"location": index.location, "classes": index.classes, "train": n_train, "val": n_val,
                 "splitSynthesized": index.split_synthesized, "ignored": len(index.ignored)},
        "training": {k: v for k, v in vars(spec).items()},
        "runtime": {"device": str(runtime.device), "amp": runtime.amp, "channelsLast": runtime.channels_last,
                    "torch": torch.__version__, "threads": torch.get_num_threads(), "python": platform.python_version(),
                    "job": __version__},
        "frozenBlocks": result.frozen_blocks, "totalBlocks": result.total_blocks,
        "trainableParameters": result.trainable_parameters,
        "bestEpoch": result.best_epoch, "bestValAccuracy": result.best_val_accuracy,
        "restoredValAccuracy": restored.accuracy, "restoredValLoss": restored.loss,
        "trainImagesPerS": result.train_images_per_s(),
        "rejectedImages": sum(h.rejected for h in result.history if h.epoch == 0),
        "conversionCheck": conversion, "exportCheck": export_check,
        "seconds": seconds,
    }
