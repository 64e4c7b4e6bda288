import json
import shutil
import subprocess

import boto3
import pytest
from conftest import HYMENOPTERA, REPO

from cnn_codes_finetune.data import (
    BlobReader,
    ImageDataset,
    decode_image,
    index_image_folder,
    make_loader,
    stratified_split,
    transforms_for,
)
from cnn_codes_finetune.known_backbones import IMAGENET_PREPROCESS


def test_the_hymenoptera_layout_is_indexed_like_torchvision(shared):
    index = index_image_folder(BlobReader(str(HYMENOPTERA)))
    assert index.classes == ["ants", "bees"]
    assert (len(index.splits["train"]), len(index.splits["val"])) == (245, 153)
    assert not index.split_synthesized


def test_an_unsplit_folder_gets_a_stratified_seeded_val_split(tmp_path):
    for cls in ("cats", "dogs"):
        (tmp_path / cls).mkdir()
        for i in range(10):
            (tmp_path / cls / f"{i}.jpg").write_bytes(b"x")
    (tmp_path / "README.md").write_text("notes")
    index = index_image_folder(BlobReader(str(tmp_path)), val_fraction=0.2, seed=3)
    assert index.split_synthesized and [len(index.splits[s]) for s in ("train", "val")] == [16, 4]
    assert sorted(s.label for s in index.splits["val"]) == [0, 0, 1, 1]
    assert index.ignored == [("README.md", "not an image (metadata file)")]


def test_the_synthesized_val_split_matches_the_typescript_side(tmp_path):
    tsx, folds = REPO / "node_modules" / ".bin" / "tsx", REPO / "core" / "heads" / "folds.ts"
    if not tsx.exists() or not folds.exists() or shutil.which("node") is None:
        pytest.skip("node/tsx or core/heads/folds.ts not available")
    labels = [i % 3 for i in range(23)] + [1] * 5
    cases = [(0.2, 0), (0.25, 7), (0.5, 123456)]
    script = tmp_path / "split.ts"
    script.write_text(
        f"import {{ stratifiedSplit }} from '{folds}';\n"
        f"const y = Int32Array.from({json.dumps(labels)});\n"
        f"console.log(JSON.stringify({json.dumps(cases)}.map(([f, s]) => Array.from(stratifiedSplit(y, f, s).test))));\n")
    out = subprocess.run([str(tsx), str(script)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [stratified_split(labels, f, s) for f, s in cases]


def test_the_gif_placeholder_decodes_as_rgb(shared):
    gifs = [p for p in (HYMENOPTERA / "train" / "ants").iterdir() if p.read_bytes()[:3] == b"GIF"]
    assert gifs, "the upstream label-noise GIF is expected in train/ants"
    assert decode_image(gifs[0].read_bytes()).mode == "RGB"


def test_unreadable_images_are_skipped_not_fatal(tmp_path):
    for split in ("train", "val"):
        for cls in ("a", "b"):
            (tmp_path / split / cls).mkdir(parents=True)
            (tmp_path / split / cls / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    reader = BlobReader(str(tmp_path))
    index = index_image_folder(reader)
    loader = make_loader(ImageDataset(reader, index.splits["train"], transforms_for(IMAGENET_PREPROCESS, train=False, augment=False)),
                         batch_size=4, shuffle=False, num_workers=0, seed=0, pin_memory=False)
    images, labels, rejected = next(iter(loader))
    assert labels.numel() == 0 and rejected == 2


def test_s3_images_stream_through_parallel_workers(moto, subset):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="data")
    for f in sorted(p for p in subset.rglob("*") if p.is_file()):
        s3.upload_file(str(f), "data", f"hymenoptera/{f.relative_to(subset).as_posix()}")
    local = index_image_folder(BlobReader(str(subset)))
    reader = BlobReader("s3://data/hymenoptera")
    remote = index_image_folder(reader)
    assert remote.classes == local.classes
    assert [(s.key, s.label) for s in remote.splits["val"]] == [(s.key, s.label) for s in local.splits["val"]]
    dataset = ImageDataset(reader, remote.splits["val"], transforms_for(IMAGENET_PREPROCESS, train=False, augment=False))
    loader = make_loader(dataset, batch_size=4, shuffle=False, num_workers=2, seed=0, pin_memory=False)
    batches = list(loader)
    assert sum(len(labels) for _, labels, _ in batches) == 16
    assert batches[0][0].shape == (4, 3, 224, 224)
