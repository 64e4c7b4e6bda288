import type { RunPlan } from '../../core/use-cases/distributed/plan-run.js';

/**
 * A complete plan.json for tests that put one by hand (plan.json is read by a checked reader): the fields a test names,
 * plausible values for the rest.
 */
export function testRunPlan(given: Partial<RunPlan> & Pick<RunPlan, 'runId'>): RunPlan {
  return {
    version: 2,
    dataset: 's3://bucket/datasets/test',
    datasetLocation: 's3://bucket/datasets/test',
    cache: 's3://bucket/cache',
    model: { name: 'mobilenetv2-12-int8', sha256: '0'.repeat(64) },
    cuts: ['final'],
    classes: ['ants', 'bees'],
    splitSynthesized: false,
    ignored: [],
    shardSize: 32,
    shards: [],
    train: {},
    split: 'val',
    ...given,
  };
}
