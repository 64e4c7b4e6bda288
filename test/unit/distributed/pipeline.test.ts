import assert from 'node:assert/strict';
import { readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { DataQuality } from '../../../core/quality/data-quality.js';
import type { Evaluation } from '../../../core/workspace/evaluation.js';
import type { Manifest } from '../../../core/features/manifest.js';
import type { RunPlan } from '../../../core/use-cases/distributed/plan-run.js';
import { handleBatch, type Accepts } from '../../../core/use-cases/distributed/router.js';
import { runStatus } from '../../../core/use-cases/distributed/run-status.js';
import { runWorkerLoop } from '../../../core/use-cases/distributed/worker-loop.js';
import { inProcessSetup, writeFakeDataset, type InProcessSetup } from '../../helpers/distributed.js';
import { withTempDir } from '../../helpers/paths.js';

const STAGES = ['run', 'extract', 'train', 'evaluate'] as const;

/** Two workers per queue until every queue stays empty (nothing queued, nothing in hand): the whole job, no network. */
async function drain(setup: InProcessSetup): Promise<void> {
  const controller = new AbortController();
  const loops = STAGES.flatMap((stage) =>
    [1, 2].map(() =>
      runWorkerLoop({
        queue: setup.queues[stage],
        handle: (messages) => handleBatch(setup.deps, messages, new Set([stage]) as Accepts),
        signal: controller.signal,
        waitSeconds: 0.05,
        visibilityTimeoutSeconds: 30,
      }),
    ),
  );
  for (let quiet = 0; quiet < 5;) {
    await new Promise((r) => setTimeout(r, 50));
    quiet = STAGES.every((stage) => setup.queues[stage].size === 0) ? quiet + 1 : 0;
  }
  controller.abort();
  await Promise.all(loops);
}

test('run → shards → one train → one evaluate; bad images are rejects; poison messages end in the DLQs only', () =>
  withTempDir(async (root) => {
    await writeFakeDataset(path.join(root, 'data'), 5, ['train/bees/001.jpg', 'val/ants/004.jpg']);
    const setup = inProcessSetup(root);
    await setup.queues.run.send(setup.runMessage('r1'));
    const poison = {
      run: { v: 1, type: 'run', runId: 'r2' },
      extract: 'not even json',
      train: { v: 1, type: 'extract', runId: 'misrouted' },
      evaluate: { v: 9, type: 'evaluate' },
    };
    for (const stage of STAGES) await setup.queues[stage].send(poison[stage]);
    await drain(setup);

    const ws = path.join(root, 'runs/r1');
    const manifest = JSON.parse(await readFile(path.join(ws, 'manifest.json'), 'utf8')) as Manifest;
    assert.equal(manifest.entries.length, 18);
    assert.deepEqual(
      manifest.rejects.map((r) => [r.key, r.kind]),
      [
        ['train/bees/001.jpg', 'decode-failed'],
        ['val/ants/004.jpg', 'decode-failed'],
      ],
    );
    assert.deepEqual(
      manifest.entries.map((e) => e.key),
      [...manifest.entries.map((e) => e.key)].sort(),
      'entries in listing order, however shards were scheduled',
    );
    const metrics = JSON.parse(await readFile(path.join(ws, 'metrics.json'), 'utf8')) as Evaluation;
    assert.equal(metrics.metrics.n, 9);
    const quality = JSON.parse(await readFile(path.join(ws, 'data-quality.json'), 'utf8')) as DataQuality;
    assert.deepEqual(
      Object.keys(quality),
      ['version', 'duplicates', 'leakage', 'labelIssues'],
      'the evaluate step writes data-quality.json',
    );
    assert.equal(metrics.dataQuality?.duplicateGroups, quality.duplicates.length);
    assert.match(
      await readFile(path.join(ws, 'report.html'), 'utf8'),
      /<section id="data-quality">[\s\S]*<section id="code-map">/,
    );
    assert.equal((await readdir(path.join(ws, 'events/train'))).length, 1);
    assert.equal((await readdir(path.join(ws, 'events/evaluate'))).length, 1);
    for (const stage of STAGES) {
      assert.deepEqual(
        setup.deadLetters[stage].peek().map((e) => e.body),
        [poison[stage]],
        `${stage} DLQ`,
      );
      assert.equal(setup.queues[stage].size, 0);
    }
    assert.match(setup.deadLetters.train.peek()[0]!.reason!, /"extract" is not served here/);
    const status = await runStatus(setup.deps.openStore(ws), 'r1');
    assert.deepEqual(
      [status.state, status.shards, status.events],
      ['done', { done: 7, total: 7 }, { run: 1, extract: 7, train: 1, evaluate: 1 }],
    );
  }));

test('resubmitting a run id replays the frozen plan; an image deleted after planning becomes a "missing" reject', () =>
  withTempDir(async (root) => {
    await writeFakeDataset(path.join(root, 'data'), 3);
    const setup = inProcessSetup(root);
    await setup.queues.run.send(setup.runMessage('r1'));
    const planned = await setup.queues.run.receive();
    await handleBatch(setup.deps, planned, new Set(['run']));
    await setup.queues.run.ack(planned[0]!);
    await rm(path.join(root, 'data/val/bees/002.jpg'));
    await drain(setup);
    const manifest = JSON.parse(await readFile(path.join(root, 'runs/r1/manifest.json'), 'utf8')) as Manifest;
    assert.deepEqual(
      manifest.rejects.map((r) => [r.key, r.kind]),
      [['val/bees/002.jpg', 'missing']],
    );

    // The same run id with another dataset is refused (and dead-lettered), never silently mixed.
    await setup.queues.run.send(setup.runMessage('r1', { dataset: path.join(root, 'elsewhere') }));
    await drain(setup);
    assert.match(setup.deadLetters.run.peek()[0]!.reason!, /already planned/);
  }));

test('the planner records a dangling symlink as a reject with its kind, as the local extract does, not as ignored', () =>
  withTempDir(async (root) => {
    await writeFakeDataset(path.join(root, 'data'), 3);
    await symlink(path.join(root, 'gone.jpg'), path.join(root, 'data/train/ants/dangling.jpg'));
    await writeFile(path.join(root, 'data/train/notes.txt'), 'not an image');
    const setup = inProcessSetup(root);
    await setup.queues.run.send(setup.runMessage('r1'));
    await drain(setup);

    const ws = path.join(root, 'runs/r1');
    const plan = JSON.parse(await readFile(path.join(ws, 'plan.json'), 'utf8')) as RunPlan;
    assert.deepEqual(
      plan.ignored.map((i) => i.key),
      ['train/notes.txt'],
    );
    assert.deepEqual(
      plan.unreadable?.map((u) => [u.key, u.split, u.kind]),
      [['train/ants/dangling.jpg', 'train', 'dangling-symlink']],
    );
    assert.ok(!plan.shards.flat().some((item) => item.key.includes('dangling')), 'never handed to an extract shard');
    const manifest = JSON.parse(await readFile(path.join(ws, 'manifest.json'), 'utf8')) as Manifest;
    const reject = manifest.rejects.find((r) => r.key === 'train/ants/dangling.jpg');
    assert.equal(reject?.kind, 'dangling-symlink');
    assert.match(reject.message, /symbolic link to .*gone\.jpg, which does not exist/);
    assert.deepEqual(
      manifest.ignored.map((i) => i.key),
      ['train/notes.txt'],
    );
    const rejectsFile = JSON.parse(await readFile(path.join(ws, 'rejects.json'), 'utf8')) as Manifest['rejects'];
    assert.deepEqual(
      rejectsFile.map((r) => [r.key, r.kind]),
      [['train/ants/dangling.jpg', 'dangling-symlink']],
    );
  }));
