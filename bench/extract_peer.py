#!/usr/bin/python3
"""The Python peer of bench/extract.ts: what a careful user writes with onnxruntime and PIL, nothing of ours.

The same mobilenetv2-12-int8 file, its tensor `627` (the last 1x1 conv + ReLU6, dequantized) added as an output and
averaged over H and W in numpy; PIL decode + torchvision Resize(256) + CenterCrop(224) + ToTensor/Normalize as the
PyTorch tutorial preprocesses; one process per core (multiprocessing.Pool), a single-threaded onnxruntime session in
each, batches of 16. Prints one JSON line: images, wall seconds inside the script, and the workers' decode and
inference milliseconds per image.

    python3 bench/extract_peer.py --data DIR --model FILE [--processes N] [--batch 16] [--codes OUT.npy]

With --infer MODEL... it times inference only instead: each model (float NCHW input, or uint8 NHWC for a prepared
graph) on one thread at --batch, rounds alternated, median ms per image; --profile adds onnxruntime's per-op times.
"""
import argparse
import collections
import json
import os
import sys
import tempfile
import time
from multiprocessing import Pool

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from PIL import Image
from torchvision import transforms

CROP = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(3, 1, 1)
EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")

_session = None


def model_with_627(path):
    model = onnx.load(path)
    model.graph.output.append(helper.make_tensor_value_info("627", TensorProto.FLOAT, None))
    return model.SerializeToString()


def session(model_bytes, threads=1, profile=None):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if profile:
        options.enable_profiling = True
        options.profile_file_prefix = profile
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def init(model_bytes):
    global _session
    _session = session(model_bytes)


def crop_tensor(path):
    image = CROP(Image.open(path).convert("RGB"))
    x = np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0
    return (x - MEAN) / STD


def embed(paths):
    # Wall time inside the worker, as cnn-codes' pool measures its stages (its decode and inference leave the worker's
    # thread for libuv's pool, so its CPU time cannot be split by stage).
    started = time.perf_counter()
    batch = []
    for p in paths:
        try:
            batch.append(crop_tensor(p))
        except Exception:  # noqa: BLE001 - a bad file is a reject, as in cnn-codes
            pass
    decoded = time.perf_counter()
    codes = np.zeros((0, 1280), dtype=np.float32)
    if batch:
        (out,) = _session.run(["627"], {"input": np.stack(batch)})
        codes = out.mean(axis=(2, 3))
    return codes, (decoded - started) * 1000, (time.perf_counter() - decoded) * 1000


def image_files(root):
    out = []
    for folder, _, names in os.walk(root):
        out.extend(os.path.join(folder, n) for n in names if n.lower().endswith(EXTENSIONS))
    return sorted(out)


def extract(args):
    model_bytes = model_with_627(args.model)
    paths = image_files(args.data)
    batches = [paths[i : i + args.batch] for i in range(0, len(paths), args.batch)]
    started = time.perf_counter()
    with Pool(args.processes, initializer=init, initargs=(model_bytes,)) as pool:
        results = pool.map(embed, batches, chunksize=1)
    seconds = time.perf_counter() - started
    codes = np.concatenate([r[0] for r in results])
    if args.codes:
        np.save(args.codes, codes)
    print(
        json.dumps(
            {
                "images": int(codes.shape[0]),
                "seconds": round(seconds, 3),
                "decode_ms_per_image": round(sum(r[1] for r in results) / max(len(codes), 1), 3),
                "infer_ms_per_image": round(sum(r[2] for r in results) / max(len(codes), 1), 3),
                "processes": args.processes,
                "batch": args.batch,
                "versions": {"onnxruntime": ort.__version__, "pillow": Image.__version__, "python": sys.version.split()[0]},
            }
        )
    )


def infer(args):
    rng = np.random.default_rng(0)
    sessions = []
    for path in args.infer:
        s = session(path)
        spec = s.get_inputs()[0]
        if spec.type == "tensor(uint8)":
            x = rng.integers(0, 256, (args.batch, 224, 224, 3), dtype=np.uint8)
        else:
            x = rng.standard_normal((args.batch, 3, 224, 224)).astype(np.float32)
        feed = {spec.name: x}
        for _ in range(3):
            s.run(None, feed)
        sessions.append((s, feed))
    times = [[] for _ in sessions]
    for _ in range(args.rounds):
        for i, (s, feed) in enumerate(sessions):
            started = time.perf_counter()
            s.run(None, feed)
            times[i].append((time.perf_counter() - started) * 1000 / args.batch)
    result = {"ms_per_image": [round(float(np.median(t)), 3) for t in times], "batch": args.batch, "rounds": args.rounds}
    if args.profile:
        result["ops"] = [profile_ops(path, args.batch) for path in args.infer]
    print(json.dumps(result))


def profile_ops(path, batch, runs=8):
    """onnxruntime's profiler: ms per image by op type, summed over nodes, for one model."""
    with tempfile.TemporaryDirectory() as tmp:
        s = session(path, profile=os.path.join(tmp, "profile"))
        spec = s.get_inputs()[0]
        shape = (batch, 224, 224, 3) if spec.type == "tensor(uint8)" else (batch, 3, 224, 224)
        dtype = np.uint8 if spec.type == "tensor(uint8)" else np.float32
        feed = {spec.name: np.zeros(shape, dtype=dtype)}
        for _ in range(runs):
            s.run(None, feed)
        with open(s.end_profiling()) as f:
            events = json.load(f)
    by_op = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            by_op[e["args"].get("op_name", "?")] += e["dur"]
    return {op: round(us / runs / batch / 1000, 4) for op, us in by_op.most_common()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data")
    parser.add_argument("--model")
    parser.add_argument("--processes", type=int, default=os.cpu_count())
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--codes")
    parser.add_argument("--infer", nargs="+")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.infer:
        infer(args)
    else:
        extract(args)


if __name__ == "__main__":
    main()
