import type { ModelDescriptor, PreprocessSpec } from './descriptor.js';

/**
 * Built-in descriptors. The three int8 models are the ones in `<shared>/models` (see their PROVENANCE.md); the
 * ResNets are ONNX Model Zoo files fetched by URL and checked against the sha256 of the upstream LFS objects.
 */

export const IMAGENET_PREPROCESS: PreprocessSpec = {
  resize: 256,
  crop: [224, 224],
  kernel: 'linear',
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};

/**
 * CUDA runs the built-ins as float16 graphs where that holds the int8 codes (median cosine ≥ 0.99 on hymenoptera val,
 * test/e2e/gpu-fidelity.test.ts; float16 ResNets are the usual GPU deployment of fp32 ResNets). mobilenetv2-12-int8's
 * codes move as much for one-step rounding changes as for no rounding at all, so its GPU graph computes the int8
 * kernels' integers exactly, in float32 (docs/deploy.md, "GPU graph fidelity").
 */
const FLOAT16_ON_CUDA = { cuda: { precision: 'float16' } } as const;
const INT8_EXACT_ON_CUDA = { cuda: { precision: 'float32', activations: 'int8-exact' } } as const;

const ZOO = 'https://github.com/onnx/models/raw/main/validated/vision/classification';

export const DEFAULT_MODEL = 'mobilenetv2-12-int8';

export const BUILTIN_MODELS: readonly ModelDescriptor[] = [
  {
    version: 1,
    name: 'mobilenetv2-12-int8',
    file: 'mobilenetv2-12-int8.onnx',
    sha256: 'cc028fe6cae7bc11a4ff53cfc9b79c920e8be65ce33a904ec3e2a8f66d77f95f',
    url: `${ZOO}/mobilenet/model/mobilenetv2-12-int8.onnx`,
    license: 'Apache-2.0',
    input: { name: 'input', layout: 'NCHW', dtype: 'float32', batch: 'dynamic', size: [224, 224] },
    preprocess: IMAGENET_PREPROCESS,
    labels: 'imagenet_classes.txt',
    targets: INT8_EXACT_ON_CUDA,
    cutPoints: {
      block6: { tensor: '365_quantized', dim: 32, description: 'features[6]: end of the 28×28 stage' },
      block10: { tensor: '400_quantized', dim: 64, description: 'features[10]: end of the 64-channel stage' },
      block13: { tensor: '426_quantized', dim: 96, description: 'features[13]: end of the 96-channel stage' },
      block16: { tensor: '452_quantized', dim: 160, description: 'features[16]: residual add' },
      block17: { tensor: '624_quantized', dim: 320, description: 'features[17]: last bottleneck output' },
      final: { tensor: '627', dim: 1280, description: 'features[18]: last 1×1 conv + ReLU6, averaged' },
    },
  },
  {
    version: 1,
    name: 'st-mobilenetv2-1.0-224-int8-qdq',
    file: 'mobilenet_v2_1.0_224_int8_per_tensor.onnx',
    sha256: '479b0a378ff2503319dfd62913fde9ded309a2db5c9984bb8dfd3950b502c309',
    license: 'Apache-2.0',
    // Raw RGB bytes in; the graph normalizes to [-1, 1] itself (Keras MobileNetV2 scaling).
    input: { name: 'serving_default_input_1:0', layout: 'NHWC', dtype: 'uint8', batch: 'dynamic', size: [224, 224] },
    preprocess: { ...IMAGENET_PREPROCESS, mean: [0, 0, 0], std: [1, 1, 1], scale: 1 },
    labels: 'imagenet_classes.txt',
    targets: FLOAT16_ON_CUDA,
    cutPoints: {
      block5: { tensor: 'model_1/block_5_add/add_prequant', dim: 32, description: 'block 5: end of the 28×28 stage' },
      block9: {
        tensor: 'model_1/block_9_add/add_prequant',
        dim: 64,
        description: 'block 9: end of the 64-channel stage',
      },
      block12: {
        tensor: 'model_1/block_12_add/add_prequant',
        dim: 96,
        description: 'block 12: end of the 96-channel stage',
      },
      block15: { tensor: 'model_1/block_15_add/add_prequant', dim: 160, description: 'block 15: residual add' },
      block16: {
        tensor: 'model_1/block_16_project/BiasAdd;model_1/block_16_project/Conv2D;block_16_project/kernel_11_prequant',
        dim: 320,
        description: 'block 16: last bottleneck output',
      },
      final: {
        tensor: 'model_1/global_average_pooling2d/Mean_dequant',
        dim: 1280,
        layout: 'NC',
        description: 'pooled code',
      },
    },
  },
  {
    version: 1,
    name: 'shufflenet-v2-12-qdq',
    file: 'shufflenet-v2-12-qdq.onnx',
    sha256: '7c536d02e2f6af9569e5f3c7a4d8282060072119524c93c8da71e63876b4722b',
    url: `${ZOO}/shufflenet/model/shufflenet-v2-12-qdq.onnx`,
    license: 'Apache-2.0',
    input: { name: 'input', layout: 'NCHW', dtype: 'float32', batch: 1, size: [224, 224] },
    preprocess: IMAGENET_PREPROCESS,
    labels: 'imagenet_classes.txt',
    targets: FLOAT16_ON_CUDA,
    cutPoints: {
      stage2: { tensor: '404_QuantizeInput', dim: 116, description: 'end of stage 2' },
      stage3: { tensor: '535_QuantizeInput', dim: 232, description: 'end of stage 3' },
      stage4: { tensor: '602_QuantizeInput', dim: 464, description: 'end of stage 4' },
      final: { tensor: '611', dim: 1024, layout: 'NC', description: 'pooled conv5 code' },
    },
  },
  {
    version: 1,
    name: 'resnet18-v1-7',
    file: 'resnet18-v1-7.onnx',
    sha256: '4e8f8653e7a2222b3904cc3fe8e304cd8b339ce1d05fd24688162f86fb6df52c',
    url: 'https://github.com/onnx/models/raw/main/vision/classification/resnet/model/resnet18-v1-7.onnx',
    license: 'Apache-2.0',
    input: { name: 'data', layout: 'NCHW', dtype: 'float32', batch: 'dynamic', size: [224, 224] },
    preprocess: IMAGENET_PREPROCESS,
    targets: FLOAT16_ON_CUDA,
    cutPoints: {
      stage2: { tensor: 'resnetv15_stage2_activation1', dim: 128, description: 'end of stage 2 (28×28)' },
      stage3: { tensor: 'resnetv15_stage3_activation1', dim: 256, description: 'end of stage 3 (14×14)' },
      final: { tensor: 'resnetv15_pool1_fwd', dim: 512, description: 'global average pool' },
    },
  },
  {
    version: 1,
    name: 'resnet50-v1-12',
    file: 'resnet50-v1-12.onnx',
    sha256: 'ab65bdc02c5b3123eb3cdf6dac01742438517d8635d4f233913b2be1c70db3b6',
    url: 'https://github.com/onnx/models/raw/main/vision/classification/resnet/model/resnet50-v1-12.onnx',
    license: 'Apache-2.0',
    input: { name: 'data', layout: 'NCHW', dtype: 'float32', batch: 'dynamic', size: [224, 224] },
    preprocess: IMAGENET_PREPROCESS,
    targets: FLOAT16_ON_CUDA,
    cutPoints: {
      stage2: { tensor: 'resnetv17_stage2_activation3', dim: 512, description: 'end of stage 2 (28×28)' },
      stage3: { tensor: 'resnetv17_stage3_activation5', dim: 1024, description: 'end of stage 3 (14×14)' },
      final: { tensor: 'resnetv17_pool1_fwd', dim: 2048, description: 'global average pool' },
    },
  },
];
