import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ENV } from '../../../contracts/cross-process.js';
import { namespaceOf } from '../../../core/features/feature-store.js';
import { buildRuntime } from '../../../functions/shared/runtime.js';
import { settingsFromEnv } from '../../../functions/shared/settings.js';

/**
 * Serverless workers read the weight encoding and the decode setting as the CLI does (they used `auto` and the exact
 * decode whatever was set): the decode reaches every model they look up, hence the namespaces planner and extractors
 * use.
 */
test('workers read CNN_CODES_WEIGHT_ENCODING and CNN_CODES_DECODE; the decode is in the descriptors they look up', async () => {
  const env = { [ENV.bucket]: 'b', AWS_REGION: 'us-east-1' };
  const defaults = settingsFromEnv(env);
  assert.equal(defaults.int8Weights, 'auto');
  assert.equal(defaults.decode, 'exact');
  const set = settingsFromEnv({ ...env, [ENV.int8Weights]: 'uint8', [ENV.decode]: 'fast' });
  assert.equal(set.int8Weights, 'uint8');
  assert.equal(set.decode, 'fast');
  assert.throws(() => settingsFromEnv({ ...env, [ENV.decode]: 'quick' }), /CNN_CODES_DECODE/);

  const namespaces: string[] = [];
  for (const settings of [defaults, set]) {
    const runtime = buildRuntime(settings, { withBackbone: false });
    try {
      const model = await runtime.deps.lookupModel('mobilenetv2-12-int8');
      assert.equal(model.descriptor.preprocess.decode, settings.decode === 'fast' ? 'fast' : undefined);
      namespaces.push(namespaceOf(model.descriptor, 'final').id);
    } finally {
      await runtime.close();
    }
  }
  assert.notEqual(namespaces[0], namespaces[1]);
});
