"""The entry point as Batch and SQS drive it: a real `python -m cnn_codes_finetune` process for errors, and the
whole S3 → train → S3 → SQS report loop against a moto server."""

import json
import os
import subprocess
import sys

import boto3
from conftest import MODELS

from cnn_codes_finetune.cli import main


def test_a_bad_message_exits_2_with_a_json_error(tmp_path):
    bad = json.dumps({"version": 1, "data": {"location": "/x"}, "backbone": {"registry": "m"},
                      "output": {"location": str(tmp_path), "name": "n"}, "training": {"learningRate": 1}})
    proc = subprocess.run([sys.executable, "-m", "cnn_codes_finetune", "--message", bad], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 2 and proc.stdout == ""
    event = json.loads(proc.stderr.strip().splitlines()[-1])
    assert event["event"] == "fine-tune.failed" and event["code"] == "CONFIG" and "learningRate" in event["error"]


def test_message_file_and_missing_data_are_config_errors(tmp_path, capsys):
    message = tmp_path / "msg.json"
    message.write_text(json.dumps({"version": 1, "data": {"location": str(tmp_path / "nowhere")},
                                   "backbone": {"registry": "mobilenetv2-12-int8"},
                                   "output": {"location": str(tmp_path), "name": "n"}}))
    assert main(["--message", str(message), "--models-dir", str(MODELS)]) == 2
    assert '"code": "DATA"' in capsys.readouterr().err


def test_s3_data_in_s3_model_out_result_reported_through_sqs(moto, subset, capsys):
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    s3.create_bucket(Bucket="jobs")
    for f in (f for d in sorted(subset.glob("*/*")) for f in sorted(d.iterdir())[:2]):  # 2 per class and split
        s3.upload_file(str(f), "jobs", f"data/hymenoptera/{f.relative_to(subset).as_posix()}")
    work = sqs.create_queue(QueueName="fine-tune")["QueueUrl"]
    report = sqs.create_queue(QueueName="fine-tune-results")["QueueUrl"]
    sqs.send_message(QueueUrl=work, MessageBody=json.dumps({
        "type": "fine-tune", "version": 1, "requestId": "req-42",
        "data": {"location": "s3://jobs/data/hymenoptera"}, "backbone": {"registry": "mobilenetv2-12-int8"},
        "output": {"location": "s3://jobs/models", "name": "ft-s3"},
        "training": {"epochs": 1, "freezeBlocks": "all", "numWorkers": 2},
        "conversionCheck": {"images": 0}, "reportQueueUrl": report}))

    assert main(["--sqs-queue-url", work, "--wait-seconds", "1", "--models-dir", str(MODELS)]) == 0

    result = json.loads(capsys.readouterr().out.strip())
    assert result["requestId"] == "req-42" and result["location"] == "s3://jobs/models/ft-s3"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="jobs", Prefix="models/ft-s3/")["Contents"]}
    assert {"models/ft-s3/ft-s3.json", "models/ft-s3/ft-s3.onnx", "models/ft-s3/metrics.json"} <= keys
    descriptor = json.loads(s3.get_object(Bucket="jobs", Key="models/ft-s3/ft-s3.json")["Body"].read())
    assert descriptor["file"] == "ft-s3.onnx"
    reported = sqs.receive_message(QueueUrl=report, WaitTimeSeconds=1)["Messages"]
    assert json.loads(reported[0]["Body"]) == result
    attrs = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_an_s3_models_folder_serves_a_fine_tuned_backbone_by_name(moto, tmp_path):
    from cnn_codes_finetune.storage import materialize_models_dirs

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="registry")
    s3.put_object(Bucket="registry", Key="models/mine/mine.json", Body=b"{}")
    s3.put_object(Bucket="registry", Key="models/mine/mine.onnx", Body=b"onnx")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path)
    try:
        (folder,) = materialize_models_dirs(["s3://registry/models"], "mine")
    finally:
        del os.environ["XDG_CACHE_HOME"]
    assert sorted(p.name for p in (folder / "mine").iterdir()) == ["mine.json", "mine.onnx"]
