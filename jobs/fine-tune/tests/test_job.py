"""The job end to end on 16 + 16 images (fixture `job_run`): training log, export, descriptor contract, registry loop."""

import hashlib
import json
import shutil
import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from conftest import REPO

from cnn_codes_finetune.backbones import load_backbone


def test_job_reports_where_the_artefacts_are(job_run):
    result, folder = job_run["result"], job_run["folder"]
    assert result["status"] == "ok" and result["location"] == str(folder)
    assert result["descriptor"] == str(folder / "ft-test.json")
    assert sorted(p.name for p in folder.iterdir()) == [
        "curve.svg", "ft-test.json", "ft-test.onnx", "history.json", "labels.txt", "metrics.json"]
    assert (folder / "labels.txt").read_text().splitlines() == ["ants", "bees"]


def test_the_log_has_both_phases_every_epoch_and_the_best_val_is_restored(job_run):
    epochs = [e for e in job_run["events"] if e["event"] == "epoch"]
    assert [(e["epoch"], e["phase"]) for e in epochs] == [(0, "train"), (0, "val"), (1, "train"), (1, "val")]
    m = job_run["metrics"]
    assert m["restoredValAccuracy"] == m["bestValAccuracy"] == max(e["accuracy"] for e in epochs if e["phase"] == "val")
    assert m["conversionCheck"]["cosineMean"] >= 0.95 and m["trainImagesPerS"] > 0
    train_losses = [e["loss"] for e in epochs if e["phase"] == "train"]
    assert train_losses[1] < train_losses[0]


def test_export_loads_in_onnxruntime_and_matches_pytorch(job_run):
    for name, check in job_run["metrics"]["exportCheck"].items():
        assert check["maxAbsDiff"] <= 1e-4 * max(1.0, check["maxAbs"]), (name, check)
    folder = job_run["folder"]
    session = ort.InferenceSession(str(folder / "ft-test.onnx"), providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, out.name) == ("input", "logits")
    for batch in (1, 3):  # dynamic batch
        assert session.run(None, {"input": np.zeros((batch, 3, 224, 224), np.float32)})[0].shape == (batch, 2)


def test_descriptor_names_real_tensors_with_the_right_dims(job_run):
    d, folder = job_run["descriptor"], job_run["folder"]
    onnx_bytes = (folder / d["file"]).read_bytes()
    assert d["sha256"] == hashlib.sha256(onnx_bytes).hexdigest()
    model = onnx.load_from_string(onnx_bytes)
    names = [c["tensor"] for c in d["cutPoints"].values()]
    model.graph.output.extend(onnx.ValueInfoProto(name=n) for n in names)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    values = session.run(names, {"input": np.zeros((2, 3, 224, 224), np.float32)})
    for (cut, spec), value in zip(d["cutPoints"].items(), values, strict=False):
        assert value.shape[0] == 2 and value.shape[1] == spec["dim"], cut
        assert value.ndim == (2 if spec.get("layout") == "NC" else 4), cut
    assert d["cutPoints"]["final"]["layout"] == "NC" and d["cutPoints"]["final"]["dim"] == 1280
    assert list(d["cutPoints"]) == ["block6", "block10", "block13", "block16", "block17", "final"]


def test_descriptor_passes_the_typescript_validator(job_run, tmp_path):
    esbuild, source = REPO / "node_modules" / ".bin" / "esbuild", REPO / "core" / "models" / "descriptor.ts"
    if not esbuild.exists() or not source.exists() or shutil.which("node") is None:
        pytest.skip("node/esbuild or core/models/descriptor.ts not available: the lead's TypeScript test covers it")
    bundle = tmp_path / "descriptor.cjs"
    subprocess.run([str(esbuild), str(source), "--bundle", "--platform=node", "--format=cjs", f"--outfile={bundle}",
                    "--log-level=error"], check=True, timeout=120)
    check = ("const { parseDescriptor } = require(process.argv[1]);"
             "const d = parseDescriptor(JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8')), 'fine-tune');"
             "console.log(JSON.stringify(Object.keys(d.cutPoints)));")
    out = subprocess.run(["node", "-e", check, str(bundle), str(job_run["folder"] / "ft-test.json")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[-1] == "final"


def test_the_fine_tuned_model_is_itself_a_registry_backbone(job_run):
    """Closing the loop: the exported descriptor loads back (by path or by name) and reproduces the ONNX file."""
    folder = job_run["folder"]
    by_name = load_backbone({"registry": "ft-test"}, [folder.parent])
    assert by_name.name == "ft-test"
    assert by_name.dims == {k: c["dim"] for k, c in job_run["descriptor"]["cutPoints"].items()}
    backbone = load_backbone({"registry": str(folder / "ft-test.json")}, [])
    x = torch.randn(2, 3, 224, 224)
    session = ort.InferenceSession(str(folder / "ft-test.onnx"), providers=["CPUExecutionProvider"])
    model = onnx.load(str(folder / "ft-test.onnx"))
    model.graph.output.append(onnx.ValueInfoProto(name="final"))
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(["final"], {"input": x.numpy()})[0]
    with torch.no_grad():
        got = backbone(x)["final"].numpy()
    assert np.abs(got - want).max() < 1e-4
    assert backbone.dims["final"] == 1280 and session.get_outputs()[0].name == "logits"
