"""Entry point: `python -m cnn_codes_finetune --message JSON|FILE|-` (Batch passes the message as a parameter) or
`--sqs-queue-url URL` (read one message, run it, delete it on success). Progress goes to stderr as JSON lines;
the result (artefact location) is the one JSON line on stdout, and is also sent to the message's reportQueueUrl.

Environment (read here only): CNN_CODES_MODELS (models folders, ':'-separated; local paths or s3:// prefixes),
else $CNN_CODES_SHARED/models with CNN_CODES_SHARED defaulting to ../shared next to the repository;
AWS_ENDPOINT_URL[_S3|_SQS] for emulators.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path

from .contract import ENV_MODELS, ENV_SHARED, HEARTBEAT_EVERY_S, HEARTBEAT_EXTEND_S
from .errors import ConfigError, FineTuneError


def _repo_root() -> Path:
    parents = Path(__file__).resolve().parents
    return parents[3] if len(parents) > 3 else Path.cwd()  # jobs/fine-tune/cnn_codes_finetune/cli.py in the repo


def models_dirs_from_env(extra: list[str]) -> list[str]:
    if extra:
        return extra
    if os.environ.get(ENV_MODELS):
        return [d for d in os.environ[ENV_MODELS].split(os.pathsep) if d]
    shared = os.environ.get(ENV_SHARED) or str(_repo_root().parent / "shared")
    return [str(Path(shared) / "models")]


def load_message_text(value: str) -> str:
    if value == "-":
        return sys.stdin.read()
    if value.lstrip().startswith("{"):
        return value
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"--message: neither JSON nor a readable file: {value[:80]}")
    return path.read_text()


def run_message_text(text: str, models_dirs: list[str]) -> dict:
    from .job import run_job
    from .message import parse_message
    from .storage import materialize_models_dirs

    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"message is not valid JSON: {err}") from err
    msg = parse_message(raw)
    _use_all_cores()
    result = run_job(msg, materialize_models_dirs(models_dirs, msg.backbone.get("registry")), progress=_emit)
    if msg.report_queue_url:
        from .storage import sqs_client

        sqs_client().send_message(QueueUrl=msg.report_queue_url, MessageBody=json.dumps(result))
    return result


def run_from_queue(queue_url: str, models_dirs: list[str], wait_s: int) -> dict | None:
    from .storage import sqs_client

    sqs = sqs_client()
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=wait_s)
    messages = got.get("Messages", [])
    if not messages:
        _emit({"event": "queue-empty", "queue": queue_url})
        return None
    message = messages[0]
    stop = threading.Event()
    keeper = threading.Thread(target=_keep_invisible, args=(sqs, queue_url, message["ReceiptHandle"], stop), daemon=True)
    keeper.start()
    try:
        result = run_message_text(message["Body"], models_dirs)
    finally:
        stop.set()
    # Deleted only on success: a failure becomes visible again and, after the queue's maxReceiveCount, lands in the DLQ.
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return result


def _keep_invisible(sqs, queue_url, receipt, stop: threading.Event, every_s: int = HEARTBEAT_EVERY_S, extend_s: int = HEARTBEAT_EXTEND_S) -> None:
    """Training outlives any sensible visibility timeout: keep the message hidden while the job runs."""
    while not stop.wait(every_s):
        try:
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=extend_s)
        except Exception as err:  # noqa: BLE001 - a missed heartbeat must not kill the training
            _emit({"event": "visibility-heartbeat-failed", "error": str(err)})


def _use_all_cores() -> None:
    import torch

    if "OMP_NUM_THREADS" not in os.environ:  # Debian's torch starts with one thread on some machines
        torch.set_num_threads(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _emit(event: dict) -> None:
    print(json.dumps(event), file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnn_codes_finetune", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--message", help="the fine-tune message: JSON text, a file, or - for stdin")
    source.add_argument("--sqs-queue-url", help="read one fine-tune message from this queue")
    parser.add_argument("--models-dir", action="append", default=[], help="registry models folder (repeatable)")
    parser.add_argument("--wait-seconds", type=int, default=20, help="SQS long-poll time")
    args = parser.parse_args(argv)
    dirs = models_dirs_from_env(args.models_dir)
    try:
        if args.message is not None:
            result = run_message_text(load_message_text(args.message), dirs)
        else:
            result = run_from_queue(args.sqs_queue_url, dirs, args.wait_seconds)
    except FineTuneError as err:
        _emit({"event": "fine-tune.failed", "code": err.code, "error": str(err)})
        return 2
    if result is not None:
        print(json.dumps(result), flush=True)
    return 0
