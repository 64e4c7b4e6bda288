"""Shared fixtures: the read-only shared folder, a small symlinked hymenoptera subset, one tiny job run reused by
several tests (the expensive part), and a moto server for S3/SQS."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("CNN_CODES_SHARED") or REPO.parent / "shared")
MODELS = SHARED / "models"
HYMENOPTERA = SHARED / "data" / "hymenoptera_data"


def pytest_configure(config):
    import torch

    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))


@pytest.fixture(scope="session")
def shared():
    if not (MODELS / "mobilenetv2-12-int8").is_dir() or not HYMENOPTERA.is_dir():
        pytest.skip(f"shared models/data not found under {SHARED} (set CNN_CODES_SHARED)")
    return SHARED


def make_subset(root: Path, per_class: int) -> Path:
    """<root>/{train,val}/{ants,bees}/: the first `per_class` images of each, as symlinks (nothing copied)."""
    for split in ("train", "val"):
        for cls in ("ants", "bees"):
            target = root / split / cls
            target.mkdir(parents=True, exist_ok=True)
            for f in sorted((HYMENOPTERA / split / cls).iterdir())[:per_class]:
                (target / f.name).symlink_to(f)
    return root


@pytest.fixture(scope="session")
def subset(shared, tmp_path_factory):
    return make_subset(tmp_path_factory.mktemp("hymenoptera-subset"), per_class=8)


@pytest.fixture(scope="session")
def job_run(subset, tmp_path_factory):
    """One real job on 16 train / 16 val images, 2 epochs, batch 4, the first 10 of 19 blocks frozen (for speed):
    the artefacts several tests inspect."""
    from cnn_codes_finetune.job import run_job
    from cnn_codes_finetune.message import parse_message

    out = tmp_path_factory.mktemp("models")
    msg = parse_message({
        "version": 1, "data": {"location": str(subset)}, "backbone": {"registry": "mobilenetv2-12-int8"},
        "output": {"location": str(out), "name": "ft-test"},
        "training": {"epochs": 2, "batchSize": 4, "freezeBlocks": 10, "numWorkers": 2, "seed": 0},
        "conversionCheck": {"images": 8},
    })
    events = []
    result = run_job(msg, [MODELS], progress=events.append)
    folder = out / "ft-test"
    return {"result": result, "events": events, "folder": folder,
            "descriptor": json.loads((folder / "ft-test.json").read_text()),
            "metrics": json.loads((folder / "metrics.json").read_text())}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    """A real moto server (S3 + SQS over HTTP) on a loopback port; the job reaches it through AWS_ENDPOINT_URL."""
    pytest.importorskip("boto3")
    exe = shutil.which("moto_server")
    if exe is None:
        pytest.skip("moto_server is not on PATH")
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    pytest.skip("moto_server did not start")
                time.sleep(0.2)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
