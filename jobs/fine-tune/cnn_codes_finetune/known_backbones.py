"""The registry's built-in ONNX backbones, as the fine-tune job needs them.

Mirrors `core/models/builtin.ts` for the three models in `<shared>/models` (see their PROVENANCE.md), plus what
only training needs: where the backbone ends (the tensor pooled into the penultimate code) and, where the graph
allows, block boundaries numbered like torchvision's `features[i]`, so `freezeBlocks` means the same thing for the
ONNX MobileNetV2 and `torchvision.models.mobilenet_v2`. A model's own `<name>.json` descriptor (e.g. one this job
wrote) is read instead when there is one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

IMAGENET_PREPROCESS = {
    "resize": 256, "crop": [224, 224], "kernel": "linear", "scale": 1 / 255,
    "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
}


@dataclass(frozen=True)
class OnnxBackboneSpec:
    name: str
    file: str
    input_name: str
    layout: str  # 'NCHW' | 'NHWC'
    dtype: str  # 'float32' | 'uint8'
    preprocess: dict
    # cut point name → (graph tensor, description), shallow → deep; 'final' is derived from `feature_tensor`.
    cut_points: dict = field(default_factory=dict)
    # Tensor averaged into the penultimate code (None: found from the graph's last global pooling).
    feature_tensor: str | None = None
    # Outputs of the successive blocks; None: segments between single-tensor cuts of the graph.
    block_outputs: tuple | None = None
    license: str | None = None


_MNV2_FEATURES = ("474", "480", "489", "339", "507", "356", "365", "534", "382", "391", "400", "570", "417", "426",
                  "597", "443", "452", "624", "627")

KNOWN_ONNX_BACKBONES = {
    spec.name: spec
    for spec in (
        OnnxBackboneSpec(
            name="mobilenetv2-12-int8", file="mobilenetv2-12-int8.onnx", input_name="input", layout="NCHW",
            dtype="float32", preprocess=IMAGENET_PREPROCESS, license="Apache-2.0", feature_tensor="627_quantized",
            block_outputs=tuple(f"{t}_quantized" for t in _MNV2_FEATURES),
            cut_points={
                "block6": ("365_quantized", "features[6]: end of the 28×28 stage"),
                "block10": ("400_quantized", "features[10]: end of the 64-channel stage"),
                "block13": ("426_quantized", "features[13]: end of the 96-channel stage"),
                "block16": ("452_quantized", "features[16]: residual add"),
                "block17": ("624_quantized", "features[17]: last bottleneck output"),
            },
        ),
        OnnxBackboneSpec(
            name="st-mobilenetv2-1.0-224-int8-qdq", file="mobilenet_v2_1.0_224_int8_per_tensor.onnx",
            input_name="serving_default_input_1:0", layout="NHWC", dtype="uint8", license="Apache-2.0",
            # Raw 0..255 RGB in; the graph scales to [-1, 1] itself.
            preprocess={**IMAGENET_PREPROCESS, "scale": 1, "mean": [0, 0, 0], "std": [1, 1, 1]},
            cut_points={
                "block5": ("model_1/block_5_add/add_prequant", "block 5: end of the 28×28 stage"),
                "block9": ("model_1/block_9_add/add_prequant", "block 9: end of the 64-channel stage"),
                "block12": ("model_1/block_12_add/add_prequant", "block 12: end of the 96-channel stage"),
                "block15": ("model_1/block_15_add/add_prequant", "block 15: residual add"),
                "block16": ("model_1/block_16_project/BiasAdd;model_1/block_16_project/Conv2D;"
                            "block_16_project/kernel_11_prequant", "block 16: last bottleneck output"),
            },
        ),
        OnnxBackboneSpec(
            name="shufflenet-v2-12-qdq", file="shufflenet-v2-12-qdq.onnx", input_name="input", layout="NCHW",
            dtype="float32", preprocess=IMAGENET_PREPROCESS, license="Apache-2.0",
            cut_points={
                "stage2": ("404_QuantizeInput", "end of stage 2"),
                "stage3": ("535_QuantizeInput", "end of stage 3"),
                "stage4": ("602_QuantizeInput", "end of stage 4"),
            },
        ),
    )
}
