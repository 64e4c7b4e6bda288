import pytest

from cnn_codes_finetune.message import MessageError, parse_message

MINIMAL = {"version": 1, "data": {"location": "s3://bucket/hymenoptera"}, "backbone": {"registry": "mobilenetv2-12-int8"},
           "output": {"location": "s3://bucket/models", "name": "hymenoptera-ft"}}


def with_(**changes):
    msg = {k: dict(v) if isinstance(v, dict) else v for k, v in MINIMAL.items()}
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = msg
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return msg


def test_minimal_message_gets_the_tutorial_defaults():
    msg = parse_message(MINIMAL)
    t = msg.training
    assert (t.epochs, t.batch_size, t.lr, t.momentum, t.step_size, t.gamma) == (25, 4, 0.001, 0.9, 7, 0.1)
    assert t.backbone_lr_scale < 1 and t.freeze_blocks == 0 and t.augment
    assert msg.backbone == {"registry": "mobilenetv2-12-int8"} and msg.output_name == "hymenoptera-ft"


def test_a_full_message_parses():
    msg = parse_message(with_(type="fine-tune", requestId="r-1", reportQueueUrl="http://q", training__freezeBlocks="all",
                              training__amp=True, training__channelsLast=False, training__device="cpu",
                              backbone={"torchvision": "resnet18", "weights": "IMAGENET1K_V1"}))
    assert msg.training.freeze_blocks == "all" and msg.training.amp is True
    assert msg.backbone == {"torchvision": "resnet18", "weights": "IMAGENET1K_V1"} and msg.request_id == "r-1"


@pytest.mark.parametrize("raw, error", [
    (with_(training__learningRate=0.01), r"training: unknown field\(s\) learningRate"),
    (with_(extra=1), r"message: unknown field\(s\) extra"),
    (with_(data__bucket="x"), r"data: unknown field\(s\) bucket"),
    (with_(version=2), r"message.version: unsupported version 2"),
    (with_(type="run"), r'message.type: expected "fine-tune"'),
    (with_(training__lr=-0.1), r"training.lr: must be a number in \(0.0, inf\]"),
    (with_(training__lr="0.1"), r"training.lr: must be a number"),
    (with_(training__epochs=0), r"training.epochs: must be an integer ≥ 1"),
    (with_(training__batchSize=2.5), r"training.batchSize: must be an integer"),
    (with_(training__freezeBlocks=-1), r"training.freezeBlocks"),
    (with_(training__freezeBlocks=True), r"training.freezeBlocks"),
    (with_(training__gamma=0), r"training.gamma"),
    (with_(training__device="tpu"), r"training.device: must be one of auto, cpu, cuda"),
    (with_(training__amp="yes"), r"training.amp"),
    (with_(output__name="bad name/"), r"output.name"),
    (with_(backbone={"registry": "a", "torchvision": "resnet18"}), r"backbone: give exactly one"),
    (with_(backbone={"registry": "a", "weights": "DEFAULT"}), r"backbone.weights: only for"),
    ({k: v for k, v in MINIMAL.items() if k != "data"}, r"message.data: required"),
    (with_(data={}), r"data.location: required"),
    ([], r"message: must be a JSON object"),
])
def test_bad_messages_are_rejected_with_the_field_path(raw, error):
    with pytest.raises(MessageError, match=error):
        parse_message(raw)
