#!/usr/bin/python3
"""Speed baseline: the PyTorch "Transfer Learning for Computer Vision" tutorial's own feature extraction.

The tutorial's eval pipeline, unchanged: ImageFolder per split with Resize(256)/CenterCrop(224)/ToTensor/Normalize,
DataLoader(batch_size=4, num_workers=...), a torchvision backbone with its classifier replaced by identity, eval mode,
torch.no_grad(), CPU. Weights are random (nothing can be downloaded here; the cost does not depend on them).
ImageFolder's extension list has no ".gif", so the tutorial sees 397 of hymenoptera's 398 files (it skips
train/ants/imageNotFound.gif); that is kept, as it is what the tutorial does. Prints one JSON line.
Run with Debian's interpreter, which has torch 1.13 + torchvision 0.14:

    /usr/bin/python3 bench/tutorial_baseline.py [--data DIR] [--arch mobilenet_v2] [--batch-size 4] [--workers 2]
"""
import argparse
import json
import os
import time

import torch
from torch import nn
from torchvision import datasets, models, transforms

SPLITS = ("train", "val")
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SHARED = os.environ.get("CNN_CODES_SHARED", os.path.join(HERE, "..", "..", "shared"))


def backbone(arch: str) -> nn.Module:
    model = getattr(models, arch)()
    # The tutorial's "ConvNet as fixed feature extractor": everything up to the classifier.
    if arch == "mobilenet_v2":
        model.classifier = nn.Identity()
    else:
        model.fc = nn.Identity()
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(DEFAULT_SHARED, "data", "hymenoptera_data"))
    parser.add_argument("--arch", default="mobilenet_v2", choices=["mobilenet_v2", "resnet18", "resnet50"])
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    eval_transform = transforms.Compose([
        transforms.Resize(256),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    model = backbone(args.arch)

    start = time.perf_counter()
    images = 0
    with torch.no_grad():
        for split in SPLITS:
            dataset = datasets.ImageFolder(os.path.join(args.data, split), eval_transform)
            loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=False, num_workers=args.workers)
            for inputs, _labels in loader:
                codes = model(inputs)
                images += codes.shape[0]
    seconds = time.perf_counter() - start

    print(json.dumps({
        "images": images,
        "seconds": round(seconds, 3),
        "images_per_s": round(images / seconds, 1),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "arch": args.arch,
        "batch_size": args.batch_size,
        "workers": args.workers,
    }))


if __name__ == "__main__":
    main()
