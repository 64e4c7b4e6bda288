import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Manifest } from '../../../core/features/manifest.js';
import type { ExtractMessage } from '../../../core/messages/schema.js';
import { compactGroup } from '../../../core/use-cases/distributed/compaction.js';
import { groupLayout, MAX_TRAIN_CODE_OBJECTS, MAX_TRAIN_GETS } from '../../../core/use-cases/distributed/layout.js';
import { forEachConcurrent } from '../../../core/util/concurrency.js';
import { extractShard } from '../../../core/use-cases/distributed/extract-shard.js';
import { planRun } from '../../../core/use-cases/distributed/plan-run.js';
import { trainRun } from '../../../core/use-cases/distributed/train-run.js';
import { handleWork } from '../../../core/use-cases/distributed/router.js';
import { inProcessSetup, writeFakeDataset } from '../../helpers/distributed.js';
import { withTempDir } from '../../helpers/paths.js';

test('group layout: at most 100 code objects per run for any number of shards and cuts', () => {
  for (const shards of [1, 7, 99, 100, 101, 250, 31_250]) {
    for (const cuts of [1, 3, 7]) {
      const { groups, perGroup } = groupLayout(shards, cuts);
      assert.ok(groups * cuts <= MAX_TRAIN_CODE_OBJECTS, `${shards} shards × ${cuts} cuts → ${groups} groups`);
      assert.ok(groups * (1 + 2 * cuts) <= MAX_TRAIN_GETS, `${groups} groups: train's GETs within ${MAX_TRAIN_GETS}`);
      assert.ok(
        groups * perGroup >= shards && (groups - 1) * perGroup < shards,
        'every shard in exactly one group, none empty',
      );
    }
  }
  assert.deepEqual(groupLayout(13, 1), { groups: 13, perGroup: 1 });
  assert.deepEqual(groupLayout(46, 1), { groups: 23, perGroup: 2 }, 'at most 32 groups for one cut point');
});

test('120 shards in 30 groups (the layout in the plan), every task done twice, 16 at a time: train reads ≤ 100 code shards', () =>
  withTempDir(async (root) => {
    await writeFakeDataset(path.join(root, 'data'), 30); // 120 images
    const setup = inProcessSetup(root);
    // A run that tolerates a failed shard: the Compact step compacts every group (they may lack a part).
    const plan = await planRun(
      setup.deps,
      setup.runMessage('big', { shardSize: 1, cuts: ['final'], toleratedFailures: 1 }),
    );
    const extracts = JSON.parse(await readFile(plan.manifest.key, 'utf8')) as ExtractMessage[];
    assert.equal(extracts.length, 120);
    assert.equal(plan.compact.length, groupLayout(120, 1).groups, 'one compaction task per group of the plan');
    const deliveries = [...extracts, ...extracts];
    deliveries.sort(() => Math.random() - 0.5);
    // 16 deliveries in flight, as 16 workers would have them (a retried or redelivered shard finds its part).
    await forEachConcurrent(deliveries, 16, (m) => extractShard(setup.deps, m).then(() => undefined));
    await forEachConcurrent([...plan.compact, ...plan.compact], 16, (m) =>
      compactGroup(setup.deps, m).then(() => undefined),
    );
    await trainRun(setup.deps, plan.train);
    const manifest = JSON.parse(await readFile(path.join(root, 'runs/big/manifest.json'), 'utf8')) as Manifest;
    assert.equal(manifest.entries.length, 120);
    assert.deepEqual(
      manifest.entries.map((e) => e.key),
      extracts.map((m) => m.shard.items[0]!.key),
      'plan order',
    );
    const shards = new Set(manifest.entries.map((e) => e.codes.final!.shard));
    assert.equal(shards.size, groupLayout(120, 1).groups);
    assert.ok(shards.size <= MAX_TRAIN_CODE_OBJECTS);
    assert.equal((await readdir(path.join(root, 'runs/big/groups'))).length, groupLayout(120, 1).groups);
  }));

test('the extract that completes its group compacts it: the Compact step after the Map finds every group done and rewrites nothing', () =>
  withTempDir(async (root) => {
    await writeFakeDataset(path.join(root, 'data'), 10); // 40 images
    const setup = inProcessSetup(root);
    const events: Array<{ event?: unknown; group?: unknown }> = [];
    setup.deps.log = (entry) => void events.push(entry);
    const run = setup.runMessage('early', { shardSize: 1, cuts: ['final'] });
    assert.deepEqual((await planRun(setup.deps, run)).compact, [], 'no failure tolerated: no Compact task at all');
    // Tolerating one, the Compact step has every group, and finds each one done.
    const plan = await planRun(setup.deps, { ...run, toleratedFailures: 1 });
    const extracts = JSON.parse(await readFile(plan.manifest.key, 'utf8')) as ExtractMessage[];
    assert.deepEqual(extracts[0]!.groups, { groups: 20, perGroup: 2 }, 'the plan tells each shard its layout');
    // As the workers get them: in any order, 8 at a time, each shard through the router.
    const shuffled = [...extracts].sort(() => Math.random() - 0.5);
    await forEachConcurrent(shuffled, 8, (m) => handleWork(setup.deps, m).then(() => undefined));
    const early = events.filter((e) => e.event === 'compact:done').map((e) => e.group);
    assert.deepEqual(
      [...new Set(early)].sort((a, b) => Number(a) - Number(b)),
      [...Array(20).keys()],
    );
    assert.equal((await readdir(path.join(root, 'runs/early/groups'))).length, 20);
    const answers = await Promise.all(plan.compact.map((m) => compactGroup(setup.deps, m)));
    assert.deepEqual(
      answers,
      plan.compact.map((m) => ({ group: m.group, entries: 2, failed: 0 })),
    );
    assert.equal(events.filter((e) => e.event === 'compact:done').length, early.length, 'nothing compacted again');
    await trainRun(setup.deps, plan.train);
    const manifest = JSON.parse(await readFile(path.join(root, 'runs/early/manifest.json'), 'utf8')) as Manifest;
    assert.deepEqual(
      manifest.entries.map((e) => e.key),
      extracts.map((m) => m.shard.items[0]!.key),
    );
    assert.equal(new Set(manifest.entries.map((e) => e.codes.final!.shard)).size, 20, 'one code shard per group');
  }));
