"""Where artefacts and data live: a local folder or s3://bucket/prefix. The only module that creates AWS clients.

Endpoints come from the standard AWS variables (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3/_SQS), so moto or LocalStack
work unchanged; emulators need path-style S3 addressing, which is what this picks when an endpoint is set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import ConfigError


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def parse_s3(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    if not bucket:
        raise ConfigError(f"{uri}: expected s3://bucket/prefix")
    return bucket, prefix


def _client(service: str):
    import boto3
    from botocore.config import Config

    custom_endpoint = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ.get("AWS_ENDPOINT_URL")
    config = Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}) if custom_endpoint else None
    return boto3.client(service, endpoint_url=custom_endpoint or None, config=config)


def s3_client():
    return _client("s3")


def sqs_client():
    return _client("sqs")


def publish_folder(local_dir: Path, destination: str) -> str:
    """Copies every file of `local_dir` under `destination/<local_dir.name>/`; returns that location."""
    name = local_dir.name
    if not is_s3(destination):
        target = Path(destination) / name
        if target.resolve() != local_dir.resolve():
            target.mkdir(parents=True, exist_ok=True)
            for f in local_dir.iterdir():
                shutil.copy2(f, target / f.name)
        return str(target)
    bucket, prefix = parse_s3(destination)
    base = f"{prefix.rstrip('/')}/{name}" if prefix.strip("/") else name
    client = s3_client()
    # The descriptor goes last: a reader that sees it can rely on the .onnx it names being there.
    files = sorted(local_dir.iterdir(), key=lambda f: f.suffix == ".json" and f.stem == name)
    for f in files:
        client.upload_file(str(f), bucket, f"{base}/{f.name}")
    return f"s3://{bucket}/{base}"


def materialize_models_dirs(dirs: list[str], model_name: str | None) -> list[Path]:
    """Local folders as they are; for an s3:// models folder, `<prefix>/<model_name>/` is fetched into a local cache."""
    local = []
    for d in dirs:
        if not is_s3(d):
            local.append(Path(d))
            continue
        if not model_name or model_name.endswith((".json", ".onnx")):
            continue
        bucket, prefix = parse_s3(d)
        base = f"{prefix.strip('/')}/{model_name}/" if prefix.strip("/") else f"{model_name}/"
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cnn-codes" / "models" / bucket / prefix.strip("/")
        client = s3_client()
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base)
        for obj in (o for page in pages for o in page.get("Contents", [])):
            target = cache / model_name / obj["Key"][len(base):]
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, obj["Key"], str(target))
        local.append(cache)
    return local
