"""The names this job shares with the TypeScript side equal contracts/cross-process.json, the JSON export of
contracts/cross-process.ts (a TypeScript test holds that file equal to the module)."""

from __future__ import annotations

import json
from pathlib import Path

from cnn_codes_finetune import contract

CONTRACTS = json.loads((Path(__file__).resolve().parents[3] / "contracts" / "cross-process.json").read_text())


def test_environment_variable_names_match():
    assert contract.ENV_MODELS == CONTRACTS["env"]["fineTuneModels"]
    assert contract.ENV_SHARED == CONTRACTS["env"]["shared"]


def test_message_type_and_version_match():
    assert contract.MESSAGE_TYPE == CONTRACTS["fineTune"]["messageType"]
    assert contract.MESSAGE_VERSION == CONTRACTS["fineTune"]["messageVersion"]


def test_heartbeat_matches():
    heartbeat = CONTRACTS["fineTune"]["heartbeat"]
    assert (contract.HEARTBEAT_EVERY_S, contract.HEARTBEAT_EXTEND_S) == (heartbeat["everySeconds"], heartbeat["extendSeconds"])
    assert contract.HEARTBEAT_EVERY_S < contract.HEARTBEAT_EXTEND_S, "a heartbeat must come before the last extension runs out"
