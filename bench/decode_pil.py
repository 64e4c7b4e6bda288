#!/usr/bin/python3
"""Baseline for bench/decode.ts: PIL (libjpeg-turbo) + torchvision Resize(256)/CenterCrop(224), the tutorial's path.

Reads a file list (one path a line), times decode only and decode + resize + crop on 1 and on 2 processes, and writes
each image's 224x224 RGB crop to OUT (concatenated uint8, list order) so the Node side can measure every candidate's
distance to torchvision. Prints one JSON line.

    python3 bench/decode_pil.py --files LIST --crops OUT [--rounds 2]
"""
import argparse
import json
import time
from multiprocessing import Pool

import numpy as np
from PIL import Image
from torchvision import transforms

CROP = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])


def decode(path):
    return Image.open(path).convert("RGB")


def decode_crop(path):
    return CROP(decode(path))


def decode_only(path):
    decode(path)


def decode_crop_only(path):
    decode_crop(path)


def timed(fn, paths, processes, rounds):
    """Best of `rounds` passes, ms per image: CPU time on 1 process, wall time on 2 (the pool is started before the
    clock, as a DataLoader's workers are)."""
    best = float("inf")
    for _ in range(rounds):
        if processes == 1:
            # CPU time, like the Node side: on a shared machine wall time mostly measures the scheduler.
            start = time.process_time()
            for p in paths:
                fn(p)
            best = min(best, time.process_time() - start)
            continue
        else:
            with Pool(processes) as pool:
                pool.map(fn, paths[:2])
                start = time.perf_counter()
                pool.map(fn, paths, chunksize=4)
        best = min(best, time.perf_counter() - start)
    return best * 1000 / len(paths)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", required=True)
    parser.add_argument("--crops", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    paths = [line.strip() for line in open(args.files) if line.strip()]

    with open(args.crops, "wb") as out:
        for p in paths:
            out.write(np.asarray(decode_crop(p), dtype=np.uint8).tobytes())

    result = {}
    for name, fn in (("decode", decode_only), ("decode+resize+crop", decode_crop_only)):
        for processes in (1, 2):
            result[f"{name}@{processes}"] = round(timed(fn, paths, processes, args.rounds), 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
