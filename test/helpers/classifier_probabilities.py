"""Runs an exported cnn-codes classifier in Python onnxruntime on raw RGB crops and prints its output as JSON.

usage: classifier_probabilities.py MODEL CROPS.bin N HEIGHT WIDTH
CROPS.bin holds N uint8 crops, HEIGHT x WIDTH x 3 each, back to back (what sharp's raw output gives).
"""
import json
import sys

import numpy as np
import onnxruntime as ort


def main() -> None:
    model, crops, n, height, width = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    images = np.fromfile(crops, dtype=np.uint8).reshape(n, height, width, 3)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    rows = []
    for start in range(0, n, 16):
        (probabilities,) = session.run(["probabilities"], {"image": images[start : start + 16]})
        rows.extend(probabilities.astype(float).tolist())
    json.dump({"classes": json.loads(meta["classes"]), "input": session.get_inputs()[0].type, "probabilities": rows}, sys.stdout)


if __name__ == "__main__":
    main()
