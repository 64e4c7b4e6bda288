import assert from 'node:assert/strict';
import { test } from 'node:test';
import { namespaceOf } from '../../../core/features/feature-store.js';
import { BUILTIN_MODELS } from '../../../core/models/builtin.js';
import { withDecode, type ModelDescriptor } from '../../../core/models/descriptor.js';
import { modelForHead } from '../../../core/use-cases/tta.js';

const d = BUILTIN_MODELS.find((m) => m.name === 'mobilenetv2-12-int8')!;
// The descriptor modelForHead picks for a model whose descriptor is the setting's.
const descriptorForHead = (setting: ModelDescriptor, head: { layer: string; namespace: string }) =>
  modelForHead({ descriptor: setting }, head).descriptor;
const flip = (x: ModelDescriptor): ModelDescriptor => ({ ...x, preprocess: { ...x.preprocess, tta: 'flip' } });

test('predict feeds a head the kind of code it was trained on, whatever the decode setting says', () => {
  const exact = withDecode(d, 'exact');
  const fast = withDecode(d, 'fast');
  for (const trained of [exact, fast, flip(exact), flip(fast)]) {
    const head = { layer: 'final', namespace: namespaceOf(trained, 'final').id };
    for (const setting of [exact, fast])
      assert.deepEqual(descriptorForHead(setting, head).preprocess, trained.preprocess);
  }
  const unknown = { layer: 'final', namespace: 'another-model/final-0000' };
  assert.equal(descriptorForHead(fast, unknown), fast);
});
