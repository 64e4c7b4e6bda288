#!/usr/bin/python3
"""Reference values for test/unit/image/golden.test.ts: the PyTorch tutorial's eval transform on a few hymenoptera images.

Run with Debian's interpreter (torch 1.13 + torchvision 0.14 from apt), from the repository root:

    /usr/bin/python3 test/golden/torchvision_reference.py [--data ../shared/data/hymenoptera_data]

It writes test/golden/torchvision_reference.json: per image the tensor shape, the per-channel mean over the whole
tensor, and the values at a fixed sample of flat CHW indices. Tensors themselves are not committed.
"""
import argparse
import hashlib
import io
import json
import os
import struct

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image, ImageOps
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE_COUNT = 2000
SAMPLE_SEED = 20240601
SHAPE = (3, 224, 224)

# Chosen to exercise every branch of decodeToRgb: palette GIF, a large JPEG (shrink-on-load), a large portrait one,
# a small one that must be enlarged, an Adobe-RGB-tagged one (PIL ignores the profile; so must we) and a plain one.
CASES = [
    {"name": "gif-palette", "path": "train/ants/imageNotFound.gif"},
    {"name": "large-landscape", "path": "val/ants/ants-devouring-remains-of-large-dead-insect-on-red-tile-in-Stellenbosch-South-Africa-closeup-1-DHD.jpg"},
    {"name": "large-portrait", "path": "train/ants/Nepenthes_rafflesiana_ant.jpg"},
    {"name": "small-enlarged", "path": "train/ants/formica.jpeg"},
    {"name": "adobe-rgb-tagged", "path": "val/bees/2173503984_9c6aaaa7e2.jpg"},
    {"name": "plain", "path": "val/ants/1053149811_f62a3410d3.jpg"},
    # The plain JPEG with an EXIF orientation-6 segment spliced in (pixels untouched). torchvision's ImageFolder
    # ignores EXIF orientation; our pipeline honours it, so this reference applies exif_transpose first.
    {"name": "plain-exif-orientation-6", "path": "val/ants/1053149811_f62a3410d3.jpg", "exifOrientation": 6},
]

EVAL_TRANSFORM = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
])


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """Must stay byte-identical to withExifOrientation() in test/helpers/image-fixtures.ts."""
    assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + struct.pack("<HHII", 0x0112, 3, 1, orientation) + b"\x00" * 4
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def reference_tensor(data: bytes, exif_orientation) -> torch.Tensor:
    img = Image.open(io.BytesIO(data))
    if exif_orientation is not None:
        assert img.getexif().get(0x0112) == exif_orientation, "spliced EXIF segment not read back"
        img = ImageOps.exif_transpose(img)
    return EVAL_TRANSFORM(img.convert("RGB"))  # torchvision.datasets.folder.pil_loader does convert("RGB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data", "hymenoptera_data"))
    parser.add_argument("--out", default=os.path.join(HERE, "torchvision_reference.json"))
    args = parser.parse_args()

    rng = np.random.default_rng(SAMPLE_SEED)
    indices = np.sort(rng.choice(int(np.prod(SHAPE)), SAMPLE_COUNT, replace=False))
    images = []
    for case in CASES:
        with open(os.path.join(args.data, case["path"]), "rb") as f:
            source = f.read()
        orientation = case.get("exifOrientation")
        data = with_exif_orientation(source, orientation) if orientation is not None else source
        tensor = reference_tensor(data, orientation)
        assert tuple(tensor.shape) == SHAPE
        flat = tensor.numpy().reshape(-1)
        images.append({
            **case,
            "sha256": hashlib.sha256(source).hexdigest(),
            "shape": list(tensor.shape),
            "channelMean": [round(float(m), 6) for m in tensor.mean(dim=(1, 2))],
            "samples": [round(float(v), 4) for v in flat[indices]],
        })

    reference = {
        "generator": "test/golden/torchvision_reference.py",
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__, "pillow": PIL.__version__},
        "transform": "PIL open → convert('RGB') → Resize(256) (bilinear) → CenterCrop(224) → ToTensor → Normalize(ImageNet)",
        "sampleIndices": f"flat CHW indices, numpy default_rng({SAMPLE_SEED}).choice({int(np.prod(SHAPE))}, {SAMPLE_COUNT}, replace=False), sorted",
        "indices": [int(i) for i in indices],
        "images": images,
    }
    with open(args.out, "w") as f:
        # One image per line keeps the file small and its diffs readable.
        f.write("{\n")
        head = [k for k in reference if k != "images"]
        for key in head:
            f.write(f"  {json.dumps(key)}: {json.dumps(reference[key])},\n")
        f.write('  "images": [\n')
        f.write(",\n".join("    " + json.dumps(img) for img in images))
        f.write("\n  ]\n}\n")
    print(f"wrote {args.out} ({len(images)} images, {SAMPLE_COUNT} samples each)")


if __name__ == "__main__":
    main()
