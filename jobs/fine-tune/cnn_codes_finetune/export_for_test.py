"""A fine-tune-shaped artefact in seconds, for the TypeScript side's tests: mobilenetv2-12-int8 converted, a new seeded
2-class head (ants, bees), one SGD step on a fixed batch of hymenoptera images, exported exactly as the job does.

    .venv/bin/python -m cnn_codes_finetune.export_for_test --out DIR [--name NAME]

Prints one JSON line: {"model", "folder", "descriptor"}. Reads the model and images from CNN_CODES_SHARED.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from .backbones import load_backbone
from .cli import models_dirs_from_env
from .data import BlobReader, ImageDataset, index_image_folder, transforms_for
from .export import export_model
from .train import FineTuneNet, seed_everything


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnn_codes_finetune.export_for_test")
    parser.add_argument("--out", required=True, help="models folder to write <name>/ into")
    parser.add_argument("--name", default="mobilenetv2-ft-test")
    parser.add_argument("--backbone", default="mobilenetv2-12-int8")
    args = parser.parse_args(argv)

    seed_everything(0)
    models_dirs = [Path(d) for d in models_dirs_from_env([])]
    backbone = load_backbone({"registry": args.backbone}, models_dirs)
    net = FineTuneNet(backbone, 2)
    data = models_dirs[0].parent / "data" / "hymenoptera_data"
    reader = BlobReader(str(data))
    index = index_image_folder(reader)
    samples = index.splits["train"][:2] + index.splits["train"][-2:]
    dataset = ImageDataset(reader, samples, transforms_for(backbone.preprocess, train=False, augment=False))
    images = torch.stack([dataset[i][0] for i in range(len(dataset))])
    labels = torch.tensor([s.label for s in samples])
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    loss = torch.nn.functional.cross_entropy(net.train()(images), labels)
    loss.backward()
    optimizer.step()

    descriptor = export_model(net, index.classes, Path(args.out), args.name, source=backbone.name)
    print(json.dumps({"model": args.name, "folder": str(descriptor.parent), "descriptor": str(descriptor)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
