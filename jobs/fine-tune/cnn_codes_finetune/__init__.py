"""cnn-codes fine-tune job: a registry backbone (ONNX) or torchvision weights → fine-tuned ONNX + descriptor."""

__version__ = "0.1.0"
