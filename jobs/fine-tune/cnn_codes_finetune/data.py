"""ImageFolder data from a local folder or s3://bucket/prefix, with the same layout rules as core/dataset/image-folder.ts.

Images are fetched and decoded lazily inside DataLoader workers (one S3 client per worker process), so nothing is
staged on disk and `numWorkers` parallel readers stream the dataset while the model trains.
"""

from __future__ import annotations

import io
import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import DataLoader, Dataset

from .errors import DataError
from .storage import is_s3, parse_s3, s3_client

_SPLITS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
_METADATA = (".txt", ".md", ".json", ".csv", ".tsv", ".yaml", ".yml", ".xml", ".html", ".py", ".sh", ".zip", ".tar", ".gz")


@dataclass
class Sample:
    key: str
    label: int


@dataclass
class ImageFolderIndex:
    location: str
    classes: list[str]
    splits: dict[str, list[Sample]]
    split_synthesized: bool = False
    ignored: list[tuple[str, str]] = field(default_factory=list)


class BlobReader:
    """Reads one object by key; picklable, so each DataLoader worker opens its own S3 client."""

    def __init__(self, location: str):
        self.location = location
        self._s3 = None
        if is_s3(location):
            self.bucket, prefix = parse_s3(location)
            self.prefix = prefix.rstrip("/") + "/" if prefix else ""
        else:
            self.root = Path(location)

    def __getstate__(self):
        return {**self.__dict__, "_s3": None}

    def keys(self) -> list[str]:
        if not is_s3(self.location):
            if not self.root.is_dir():
                raise DataError(f"data folder {self.root} does not exist")
            return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())
        pages = self._client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        return sorted(obj["Key"][len(self.prefix):] for page in pages for obj in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        if not is_s3(self.location):
            return (self.root / key).read_bytes()
        return self._client().get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read()

    def _client(self):
        if self._s3 is None:
            self._s3 = s3_client()
        return self._s3


def index_image_folder(reader: BlobReader, *, val_fraction: float = 0.2, seed: int = 0) -> ImageFolderIndex:
    files, ignored = [], []
    for key in reader.keys():
        parts = key.split("/")
        if any(p.startswith(".") for p in parts):
            continue
        if key.lower().endswith(_METADATA):
            ignored.append((key, "not an image (metadata file)"))
            continue
        files.append(parts)
    has_splits = any(len(p) == 3 and p[0] in _SPLITS for p in files)
    depth = 3 if has_splits else 2
    kept = []
    for parts in files:
        if len(parts) != depth or (has_splits and parts[0] not in _SPLITS):
            ignored.append(("/".join(parts), "outside the <split>/<class>/<file> layout"))
            continue
        split, cls = (_SPLITS[parts[0]], parts[1]) if has_splits else ("train", parts[0])
        kept.append(("/".join(parts), split, cls))
    if not kept:
        raise DataError(f"no images found at {reader.location} (expected <split>/<class>/<image> or <class>/<image>)")
    classes = sorted({cls for _, split, cls in kept if split == "train"})
    if len(classes) < 2:
        raise DataError(f"need at least 2 classes in train, found {len(classes)} at {reader.location}")
    label_of = {c: i for i, c in enumerate(classes)}
    items = []
    for key, split, cls in kept:
        if cls not in label_of:
            ignored.append((key, f'class "{cls}" does not occur in train'))
        else:
            items.append([key, split, label_of[cls]])
    if not has_splits:
        _carve_validation(items, val_fraction, seed)
    splits: dict[str, list[Sample]] = {}
    for key, split, label in items:
        splits.setdefault(split, []).append(Sample(key, label))
    return ImageFolderIndex(reader.location, classes, splits, not has_splits, ignored)


def _carve_validation(items, fraction: float, seed: int) -> None:
    for index in stratified_split([label for _, _, label in items], fraction, seed):
        items[index][1] = "val"


def stratified_split(labels: list[int], fraction: float, seed: int) -> list[int]:
    """Indices moved to val: a port of core/heads/folds.ts `stratifiedSplit` (same PRNG stream, same order)."""
    rand = mulberry32(seed)
    chosen = []
    for cls in range(max(labels) + 1 if labels else 0):
        rows = [i for i, label in enumerate(labels) if label == cls]
        for i in range(len(rows) - 1, 0, -1):  # Fisher–Yates, as shuffleInPlace
            j = math.floor(rand() * (i + 1))
            rows[i], rows[j] = rows[j], rows[i]
        n_test = 0 if len(rows) < 2 else min(len(rows) - 1, max(1, math.floor(len(rows) * fraction + 0.5)))
        chosen.extend(rows[:n_test])
    return sorted(chosen)


def mulberry32(seed: int):
    """Port of core/heads/prng.ts (uint32 arithmetic: the same bit patterns as JavaScript's int32 ops)."""
    mask = 0xFFFFFFFF
    state = seed & mask

    def imul(a, b):
        return (a * b) & mask

    def next_random() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & mask
        t = imul(state ^ (state >> 15), state | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & mask
        return ((t ^ (t >> 14)) & mask) / 4294967296

    return next_random


def limit_per_class(samples: list[Sample], per_class: int | None) -> list[Sample]:
    if not per_class:
        return samples
    counts: dict[int, int] = {}
    kept = []
    for s in samples:
        if counts.get(s.label, 0) < per_class:
            counts[s.label] = counts.get(s.label, 0) + 1
            kept.append(s)
    return kept


def decode_image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    # EXIF orientation applied and alpha dropped, as the TypeScript side does with sharp's rotate() + removeAlpha().
    return ImageOps.exif_transpose(img).convert("RGB")


def transforms_for(preprocess: dict, *, train: bool, augment: bool):
    import torchvision.transforms as T

    crop = tuple(preprocess["crop"])
    # ToTensor gives pixel/255; the descriptor's normalization is (pixel·scale − mean)/std.
    gain = 255.0 * preprocess["scale"]
    normalize = T.Normalize([m / gain for m in preprocess["mean"]], [s / gain for s in preprocess["std"]])
    if train and augment:
        return T.Compose([T.RandomResizedCrop(crop), T.RandomHorizontalFlip(), T.ToTensor(), normalize])
    resize = preprocess["resize"]
    size = resize if isinstance(resize, int) else tuple(resize)
    return T.Compose([T.Resize(size, interpolation=T.InterpolationMode.BILINEAR), T.CenterCrop(crop), T.ToTensor(), normalize])


class ImageDataset(Dataset):
    def __init__(self, reader: BlobReader, samples: list[Sample], transform):
        self.reader, self.samples, self.transform = reader, samples, transform

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        sample = self.samples[i]
        try:
            image = decode_image(self.reader.read(sample.key))
        except (OSError, ValueError, Image.DecompressionBombError):
            return None  # an unreadable image is skipped (and counted), as the TypeScript side records a reject
        return self.transform(image), sample.label


def _collate_skipping_rejects(batch):
    good = [b for b in batch if b is not None]
    rejected = len(batch) - len(good)
    if not good:
        return torch.empty(0), torch.empty(0, dtype=torch.long), rejected
    images, labels = zip(*good, strict=False)
    return torch.stack(images), torch.tensor(labels, dtype=torch.long), rejected


def _seed_worker(worker_id: int) -> None:
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def make_loader(dataset: ImageDataset, *, batch_size: int, shuffle: bool, num_workers: int, seed: int,
                pin_memory: bool) -> DataLoader:
    generator = torch.Generator()
    generator.manual_seed(seed)
    workers = min(num_workers, os.cpu_count() or 1)
    parallel = {"persistent_workers": True, "prefetch_factor": 4} if workers > 0 else {}
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=workers,
                      collate_fn=_collate_skipping_rejects, pin_memory=pin_memory, generator=generator,
                      worker_init_fn=_seed_worker, **parallel)
