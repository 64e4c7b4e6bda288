import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../core/errors.js';
import { BUILTIN_MODELS } from '../../../core/models/builtin.js';
import { parseDescriptor } from '../../../core/models/descriptor.js';

const valid = () => structuredClone(BUILTIN_MODELS[0]!) as unknown as Record<string, unknown>;

test('every built-in descriptor passes the validator users and the fine-tune job go through', () => {
  for (const d of BUILTIN_MODELS) assert.doesNotThrow(() => parseDescriptor(structuredClone(d), d.name));
  assert.deepEqual(BUILTIN_MODELS.map((d) => d.name).sort(), [
    'mobilenetv2-12-int8',
    'resnet18-v1-7',
    'resnet50-v1-12',
    'shufflenet-v2-12-qdq',
    'st-mobilenetv2-1.0-224-int8-qdq',
  ]);
});

test('bad descriptors are refused with a message naming the field', () => {
  const cases: Array<[string, (d: Record<string, unknown>) => void, RegExp]> = [
    ['version', (d) => (d.version = 2), /unsupported version 2/],
    ['sha256', (d) => (d.sha256 = 'abc'), /"sha256" must be 64/],
    ['layout', (d) => ((d.input as Record<string, unknown>).layout = 'CHW'), /"input.layout"/],
    ['batch', (d) => ((d.input as Record<string, unknown>).batch = 0), /"input.batch"/],
    ['crop', (d) => ((d.preprocess as Record<string, unknown>).crop = [200, 200]), /must equal "input.size"/],
    ['std', (d) => ((d.preprocess as Record<string, unknown>).std = [1, 0, 1]), /"preprocess.std"/],
    ['final', (d) => delete (d.cutPoints as Record<string, unknown>).final, /must include "final"/],
    [
      'dim',
      (d) => ((d.cutPoints as Record<string, Record<string, unknown>>).final!.dim = -1),
      /"dim" must be a positive integer/,
    ],
    ['name', (d) => (d.name = '../evil'), /"name" may use/],
  ];
  for (const [what, mutate, message] of cases) {
    const d = valid();
    mutate(d);
    assert.throws(
      () => parseDescriptor(d, 'x.json'),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
      what,
    );
  }
  assert.throws(() => parseDescriptor([], 'x.json'), /must be a JSON object/);
});
