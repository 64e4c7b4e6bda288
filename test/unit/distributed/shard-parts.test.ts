import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Manifest } from '../../../core/features/manifest.js';
import type { ExtractMessage } from '../../../core/messages/schema.js';
import { forEachConcurrent } from '../../../core/util/concurrency.js';
import { extractShard } from '../../../core/use-cases/distributed/extract-shard.js';
import { planRun } from '../../../core/use-cases/distributed/plan-run.js';
import { trainRun } from '../../../core/use-cases/distributed/train-run.js';
import { inProcessSetup, writeFakeDataset } from '../../helpers/distributed.js';
import { withTempDir } from '../../helpers/paths.js';

test('120 shards, every shard delivered twice, 16 at a time: train joins one part per shard in plan order', () =>
  withTempDir(async (root) => {
    await writeFakeDataset(path.join(root, 'data'), 30); // 120 images
    const setup = inProcessSetup(root);
    const plan = await planRun(
      setup.deps,
      setup.runMessage('big', { shardSize: 1, cuts: ['final'], toleratedFailures: 1 }),
    );
    const extracts = JSON.parse(await readFile(plan.manifest.key, 'utf8')) as ExtractMessage[];
    assert.equal(extracts.length, 120);
    const deliveries = [...extracts, ...extracts];
    deliveries.sort(() => Math.random() - 0.5);
    // 16 deliveries in flight, as 16 workers would have them (a retried or redelivered shard finds its part).
    await forEachConcurrent(deliveries, 16, (m) => extractShard(setup.deps, m).then(() => undefined));
    await trainRun(setup.deps, plan.train);
    const manifest = JSON.parse(await readFile(path.join(root, 'runs/big/manifest.json'), 'utf8')) as Manifest;
    assert.equal(manifest.entries.length, 120);
    assert.deepEqual(
      manifest.entries.map((e) => e.key),
      extracts.map((m) => m.shard.items[0]!.key),
      'plan order',
    );
    // The extract writes one code object per shard and cut: train reads those, never one per batch.
    assert.equal(new Set(manifest.entries.map((e) => e.codes.final!.shard)).size, 120);
  }));
