import pytest
import torch
from conftest import MODELS

from cnn_codes_finetune.backbones import Backbone, TorchvisionBackbone, load_backbone
from cnn_codes_finetune.data import BlobReader, ImageDataset, index_image_folder, transforms_for
from cnn_codes_finetune.message import TrainingSpec
from cnn_codes_finetune.train import (
    FineTuneNet,
    Runtime,
    apply_freezing,
    evaluate,
    fit,
    make_optimizer,
    seed_everything,
)

CPU = Runtime(torch.device("cpu"), amp=False, channels_last=False)


class CachedLoader:
    """Preprocessed tensors served like the job's DataLoader (images, labels, rejected): training tests stay fast."""

    def __init__(self, images, labels, batch_size):
        self.images, self.labels, self.batch_size = images, labels, batch_size

    def __iter__(self):
        for i in range(0, len(self.labels), self.batch_size):
            yield self.images[i:i + self.batch_size], self.labels[i:i + self.batch_size], 0


@pytest.fixture(scope="module")
def tensors(subset):
    reader = BlobReader(str(subset))
    index = index_image_folder(reader)
    out = {}
    for split in ("train", "val"):
        samples = index.splits[split][:4] + index.splits[split][-4:]
        # 112×112 crops: the network is resolution-agnostic and the tests run four times faster.
        preprocess = {**load_backbone_cached().preprocess, "resize": 128, "crop": [112, 112]}
        ds = ImageDataset(reader, samples, transforms_for(preprocess, train=False, augment=False))
        out[split] = (torch.stack([ds[i][0] for i in range(len(ds))]), torch.tensor([s.label for s in samples]))
    return out


_BACKBONE = {}


def load_backbone_cached():
    if "mnv2" not in _BACKBONE:
        _BACKBONE["mnv2"] = load_backbone({"registry": "mobilenetv2-12-int8"}, [MODELS])
    return _BACKBONE["mnv2"]


def fresh_net():
    seed_everything(0)
    return FineTuneNet(load_backbone({"registry": "mobilenetv2-12-int8"}, [MODELS]), 2)


def loaders(tensors, batch_size=4, shuffle_seed=0):
    g = torch.Generator().manual_seed(shuffle_seed)
    images, labels = tensors["train"]
    order = torch.randperm(len(labels), generator=g)
    return {"train": CachedLoader(images[order], labels[order], batch_size), "val": CachedLoader(*tensors["val"], batch_size)}


def test_training_loss_falls(shared, tensors):
    spec = TrainingSpec(epochs=2, lr=0.01, backbone_lr_scale=0.1, step_size=7, freeze_blocks=10, augment=False)
    result = fit(fresh_net(), loaders(tensors), spec, CPU)
    losses = [h.loss for h in result.history if h.phase == "train"]
    assert losses[1] < losses[0] * 0.9, losses


def test_freezing_and_differential_learning_rates(shared):
    net = fresh_net()
    blocks = net.backbone.blocks()
    frozen, total = apply_freezing(net, 3)
    assert (frozen, total) == (3, 19)  # torchvision's features[0..18] numbering
    assert not any(p.requires_grad for b in blocks[:3] for p in b) and all(p.requires_grad for b in blocks[3:] for p in b)
    groups = make_optimizer(net, TrainingSpec(lr=0.01, backbone_lr_scale=0.1)).param_groups
    assert [g["lr"] for g in groups] == [0.01, pytest.approx(0.001)]
    assert len(groups[1]["params"]) == sum(len(b) for b in blocks[3:])

    net = fresh_net()
    assert apply_freezing(net, "all") == (19, 19)
    assert len(make_optimizer(net, TrainingSpec()).param_groups) == 1  # the fixed feature extractor: head only


class TinyBackbone(Backbone):
    def __init__(self):
        super().__init__()
        self.stem, self.body = torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.Conv2d(8, 16, 3)
        self.dims, self.cut_descriptions = {"stem": 8, "final": 19}, {"stem": "stem"}

    def forward(self, x):
        stem = torch.relu(self.stem(x))
        return {"stem": stem, "final": torch.cat([torch.relu(self.body(stem)).mean(dim=(2, 3)), x.mean(dim=(2, 3))], 1)}

    def blocks(self):
        return [list(self.stem.parameters()), list(self.body.parameters())]


def test_best_val_checkpoint_is_restored_when_a_later_epoch_is_worse():
    # Forced schedule: epoch 0 learns a separable problem; StepLR's gamma of -10 then turns SGD into gradient ascent.
    seed_everything(0)
    x = torch.randn(8, 3, 8, 8) * 0.1 + torch.tensor([1.0, -1.0] * 4).view(8, 1, 1, 1)
    y = torch.tensor([0, 1] * 4)
    data = {"train": CachedLoader(x, y, 4), "val": CachedLoader(x, y, 4)}
    net = FineTuneNet(TinyBackbone(), 2)
    after = {}

    def snapshot(stats):
        if stats.phase == "val":
            after[stats.epoch] = {k: v.clone() for k, v in net.state_dict().items()}

    spec = TrainingSpec(epochs=2, lr=0.5, momentum=0.0, step_size=1, gamma=-10.0, freeze_blocks="all", augment=False)
    result = fit(net, data, spec, CPU, on_epoch=snapshot)
    val = [h.accuracy for h in result.history if h.phase == "val"]
    assert val[0] > val[1] and result.best_epoch == 0, val
    for k, v in net.state_dict().items():
        assert torch.equal(v, after[0][k])
    assert evaluate(net, data["val"], CPU).accuracy == result.best_val_accuracy == val[0]


def test_mixed_precision_and_channels_last_paths_run_on_cpu():
    # The same loop as on GPU (autocast + channels_last); on CPU autocast is bf16, emulated on AVX2: a tiny net keeps it fast.
    seed_everything(0)
    x, y = torch.randn(8, 3, 32, 32), torch.tensor([0, 1] * 4)
    runtime = Runtime(torch.device("cpu"), amp=True, channels_last=True)
    data = {"train": CachedLoader(x, y, 4), "val": CachedLoader(x, y, 4)}
    result = fit(FineTuneNet(TinyBackbone(), 2), data, TrainingSpec(epochs=2, lr=0.05, augment=False), runtime)
    assert all(torch.isfinite(torch.tensor(h.loss)) for h in result.history)
    assert Runtime.resolve(TrainingSpec()).amp is torch.cuda.is_available()  # "auto": mixed precision on GPU only


def test_frozen_torchvision_blocks_keep_their_batchnorm_statistics():
    backbone = TorchvisionBackbone("resnet18", None)
    backbone.freeze_first(2)
    backbone.train()
    assert not backbone.stages[0].training and not backbone.stages[1].training and backbone.stages[2].training
    assert [len(b) > 0 for b in backbone.blocks()] == [True] * 5
    assert backbone.dims == {"layer1": 64, "layer2": 128, "layer3": 256, "final": 512}
