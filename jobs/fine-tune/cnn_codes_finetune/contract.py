"""Names this job shares with the TypeScript side (the CDK stack, the CLI). They are defined in
contracts/cross-process.ts; Python cannot import that, so tests/test_contracts.py holds these equal to its JSON export
(contracts/cross-process.json)."""

from __future__ import annotations

# The job's models folders: local paths or s3:// prefixes, os.pathsep-separated (the stack sets it to s3://<bucket>/models/).
ENV_MODELS = "CNN_CODES_MODELS"
# The shared, read-only models and data (default ../shared beside the repository).
ENV_SHARED = "CNN_CODES_SHARED"

MESSAGE_TYPE = "fine-tune"
MESSAGE_VERSION = 1

# Every HEARTBEAT_EVERY_S seconds the job hides its SQS message HEARTBEAT_EXTEND_S seconds more, while training runs.
HEARTBEAT_EVERY_S = 60
HEARTBEAT_EXTEND_S = 300
