import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import onnxProto from 'onnx-proto';
import { IMAGENET_PREPROCESS } from '../../core/models/builtin.js';
import type { ModelDescriptor } from '../../core/models/descriptor.js';
import { PYTHON } from './paths.js';

/**
 * ResNet-50 cannot be downloaded here; its cost and its operators do not depend on the weights, so tests and benches
 * export a random-weight torchvision ResNet-50 with the local torch. BatchNorm statistics are first gathered on random
 * images (train mode, a few batches): with the default ones (mean 0, var 1) activations grow through the 16 residual
 * blocks in a way no trained network's do, which would make a float16 check meaningless.
 */
const EXPORT = `
import sys, torch, torchvision
torch.manual_seed(0)
model = torchvision.models.resnet50()
model.train()
with torch.no_grad():
    for _ in range(4):
        model(torch.rand(8, 3, 224, 224) * 4 - 2)
model.eval()
torch.onnx.export(model, torch.zeros(1, 3, 224, 224), sys.argv[1], input_names=['data'], output_names=['logits'],
                  dynamic_axes={'data': {0: 'N'}, 'logits': {0: 'N'}}, opset_version=13, do_constant_folding=True)
`;

export async function exportRandomResnet50(dir: string): Promise<{ file: string; descriptor: ModelDescriptor }> {
  const file = path.join(dir, 'resnet50-random.onnx');
  const r = spawnSync(PYTHON, ['-c', EXPORT, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch export of ResNet-50 failed: ${r.stderr}`);
  const bytes = await readFile(file);
  const graph = onnxProto.onnx.ModelProto.decode(bytes).graph!;
  const pool = graph.node!.find((n) => n.opType === 'GlobalAveragePool');
  // The last block of stage 3 (layer3) ends in the Relu feeding stage 4's first convolutions.
  const stage3 = [...graph.node!].filter((n) => n.opType === 'Relu' && (n.name ?? '').startsWith('/layer3/')).pop();
  if (!pool || !stage3) throw new Error('exported ResNet-50 has no GlobalAveragePool or layer3 Relu');
  const descriptor: ModelDescriptor = {
    version: 1,
    name: 'resnet50-random',
    file: path.basename(file),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    input: { name: 'data', layout: 'NCHW', dtype: 'float32', batch: 'dynamic', size: [224, 224] },
    preprocess: IMAGENET_PREPROCESS,
    targets: { cuda: { precision: 'float16' } },
    cutPoints: {
      stage3: { tensor: stage3.output![0]!, dim: 1024 },
      final: { tensor: pool.output![0]!, dim: 2048 },
    },
  };
  return { file, descriptor };
}
