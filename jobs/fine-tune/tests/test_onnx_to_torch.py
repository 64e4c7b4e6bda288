"""The converted module against onnxruntime on real images, before any training.

Stated tolerances (measured on all 153 hymenoptera val images, see README):
- per node, given the same inputs, every QLinear node of mobilenetv2-12-int8 is within 1 output LSB of the exact
  integer result (float32 rounding at .5 ties: at most 1e-4 of the elements differ);
- end to end, the float trainable module (fake-quant rounding dropped, saturation kept) vs the exact reference:
  logits cosine ≥ 0.95 on average and the same top-1 class for ≥ 75 % of images.
"""

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from cnn_codes_finetune.data import BlobReader, ImageDataset, index_image_folder, transforms_for
from cnn_codes_finetune.fidelity import check_conversion, exact_reference_session, to_source_input
from cnn_codes_finetune.known_backbones import KNOWN_ONNX_BACKBONES
from cnn_codes_finetune.onnx_to_torch import ConversionError, OnnxGraphModule


def _val_images(shared, preprocess, n):
    reader = BlobReader(str(shared / "data" / "hymenoptera_data"))
    val = index_image_folder(reader).splits["val"]
    picks = val[:n // 2] + val[-(n - n // 2):]  # both classes
    dataset = ImageDataset(reader, picks, transforms_for(preprocess, train=False, augment=False))
    return torch.stack([dataset[i][0] for i in range(len(dataset))])


@pytest.mark.parametrize("name", sorted(KNOWN_ONNX_BACKBONES))
def test_float_module_reproduces_the_onnx_logits_on_real_images(shared, name):
    spec = KNOWN_ONNX_BACKBONES[name]
    model = onnx.load(str(shared / "models" / name / spec.file))
    report = check_conversion(model, spec, _val_images(shared, spec.preprocess, 8))
    assert report["cosineMean"] >= 0.95, report
    assert report["top1Agreement"] >= 0.75, report


def test_every_qlinear_node_is_within_one_lsb_of_the_integer_result(shared):
    spec = KNOWN_ONNX_BACKBONES["mobilenetv2-12-int8"]
    model = onnx.load(str(shared / "models" / spec.name / spec.file))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    nodes = [n for n in model.graph.node if n.op_type in ("QLinearConv", "QLinearAdd") and n.output[0] != "output_quantized"]
    quantized = [n.input[0] for n in nodes] + [n.output[0] for n in nodes]
    probe = onnx.ModelProto.FromString(model.SerializeToString())
    probe.graph.output.extend(onnx.ValueInfoProto(name=t) for t in dict.fromkeys(quantized))
    session = exact_reference_session(probe)
    images = _val_images(shared, spec.preprocess, 2).numpy()
    names = list(dict.fromkeys(quantized))
    exact = dict(zip(names, session.run(names, {"input": images}), strict=False))
    qparams = {n.output[0]: (n.input[6], n.input[7]) for n in nodes}
    qparams.update({"input_quantized": ("input_scale", "input_zero_point")})

    def real(name):
        scale, zp = qparams[name]
        return (exact[name].astype(np.float32) - inits[zp].astype(np.float32)) * inits[scale]

    worst = 0.0
    for node in nodes:
        acts = [node.input[0]] + ([node.input[3]] if node.op_type == "QLinearAdd" else [])
        single = helper.make_model(helper.make_graph(
            [node], "one", [helper.make_tensor_value_info(a, TensorProto.FLOAT, None) for a in acts],
            [helper.make_tensor_value_info(node.output[0], TensorProto.UINT8, None)],
            [t for t in model.graph.initializer if t.name in node.input and t.name not in acts]),
            opset_imports=list(model.opset_import))
        converted = OnnxGraphModule(single, [node.output[0]], fake_quant=True)
        with torch.no_grad():
            got = converted(*(torch.from_numpy(real(a)) for a in acts))[0].numpy()
        scale, zp = qparams[node.output[0]]
        lsb = np.abs(np.rint(got / inits[scale] + inits[zp]) - exact[node.output[0]])
        assert lsb.max() <= 1, node.output[0]
        worst = max(worst, float((lsb > 0).mean()))
    assert worst < 1e-4


def test_fp32_graph_with_batchnorm_round_trips_exactly(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None, num_classes=10).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    path = tmp_path / "resnet18.onnx"
    torch.onnx.export(net, torch.zeros(1, 3, 64, 64), str(path), input_names=["x"], output_names=["y"],
                      opset_version=13, do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE,
                      dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    model = onnx.load(str(path))
    assert any(n.op_type == "BatchNormalization" for n in model.graph.node)
    converted = OnnxGraphModule(model, ["y"]).eval()
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(converted(x)[0], net(x), atol=1e-4, rtol=1e-4)


def test_uint8_nhwc_input_is_dequantized_by_the_graph(shared):
    spec = KNOWN_ONNX_BACKBONES["st-mobilenetv2-1.0-224-int8-qdq"]
    x = torch.full((1, 3, 224, 224), 127.0)
    assert to_source_input(x, spec.layout, spec.dtype).dtype == np.uint8
    assert to_source_input(x, spec.layout, spec.dtype).shape == (1, 224, 224, 3)


def test_unsupported_ops_are_named():
    node = helper.make_node("Einsum", ["a", "a"], ["b"], equation="ij,ij->ij")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 2])],
                              [helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 2])])
    with pytest.raises(ConversionError, match="Einsum"):
        OnnxGraphModule(helper.make_model(graph), ["b"])
