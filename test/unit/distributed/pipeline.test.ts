import assert from 'node:assert/strict';
import { readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { DataQuality } from '../../../core/quality/data-quality.js';
import type { Evaluation } from '../../../core/workspace/evaluation.js';
import type { Manifest } from '../../../core/features/manifest.js';
import type { RunPlan } from '../../../core/use-cases/distributed/plan-run.js';
import { handleBatch, type Accepts } from '../../../core/use-cases/distributed/router.js';
import { runWorkerLoop } from '../../../core/use-cases/distributed/worker-loop.js';
import { inProcessSetup, writeFakeDataset, type InProcessSetup } from '../../helpers/distributed.js';
import { withTempDir } from '../../helpers/paths.js';

const STAGES = ['run', 'extract', 'train', 'evaluate'] as const;

/**
 * Two workers per queue while `work` runs (the engine's execution, or nothing), then until every queue stays empty
 * (nothing queued, nothing in hand): the whole job, no network. Returns what `work` returned.
 */
async function drain<T>(setup: InProcessSetup, work: () => Promise<T> = async () => undefined as T): Promise<T> {
  const controller = new AbortController();
  const loops = STAGES.flatMap((stage) =>
    [1, 2].map(() =>
      runWorkerLoop({
        queue: setup.queues[stage],
        handle: (messages) =>
          handleBatch(setup.deps, messages, new Set(stage === 'extract' ? ['extract', 'compact'] : [stage]) as Accepts),
        signal: controller.signal,
        waitSeconds: 0.05,
        visibilityTimeoutSeconds: 30,
      }),
    ),
  );
  try {
    return await work();
  } finally {
    for (let quiet = 0; quiet < 5;) {
      await new Promise((r) => setTimeout(r, 50));
      quiet = STAGES.every((stage) => setup.queues[stage].size === 0) ? quiet + 1 : 0;
    }
    controller.abort();
    await Promise.all(loops);
  }
}

test('run → shards → one train → one evaluate; bad images are rejects; poison messages end in the DLQs only', () =>
  withTempDir(async (root) => {
    await writeFakeDataset(path.join(root, 'data'), 5, ['train/bees/001.jpg', 'val/ants/004.jpg']);
    const setup = inProcessSetup(root);
    const poison = {
      run: { v: 1, type: 'run', runId: 'r2' },
      extract: 'not even json',
      train: { v: 1, type: 'extract', runId: 'misrouted' },
      evaluate: { v: 9, type: 'evaluate' },
    };
    for (const stage of STAGES) await setup.queues[stage].send(poison[stage]);
    const output = (await drain(setup, () => setup.engine.run(setup.runMessage('r1')))) as { n: number };
    assert.equal(output.n, 9, "the execution's output: the evaluation");

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
    assert.deepEqual(setup.engine.answered, { run: 1, extract: 7, compact: 7, train: 1, evaluate: 1 });
    assert.equal(setup.engine.late, 0);
    for (const stage of STAGES) {
      assert.deepEqual(
        setup.deadLetters[stage].peek().map((e) => e.body),
        [poison[stage]],
        `${stage} DLQ`,
      );
      assert.equal(setup.queues[stage].size, 0);
    }
    assert.match(setup.deadLetters.train.peek()[0]!.reason!, /"extract" is not served here/);
    assert.deepEqual((await readdir(path.join(ws, 'parts'))).length, 7, 'one part per shard');
  }));

test('resubmitting a run id replays the frozen plan; an image deleted after planning becomes a "missing" reject', () =>
  withTempDir(async (root) => {
    await writeFakeDataset(path.join(root, 'data'), 3);
    const setup = inProcessSetup(root);
    const planned = setup.engine.task(setup.queues.run, setup.runMessage('r1'));
    const received = await setup.queues.run.receive();
    await handleBatch(setup.deps, received, new Set(['run']));
    await setup.queues.run.ack(received[0]!);
    await planned;
    await rm(path.join(root, 'data/val/bees/002.jpg'));
    await drain(setup, () => setup.engine.run(setup.runMessage('r1')));
    const manifest = JSON.parse(await readFile(path.join(root, 'runs/r1/manifest.json'), 'utf8')) as Manifest;
    assert.deepEqual(
      manifest.rejects.map((r) => [r.key, r.kind]),
      [['val/bees/002.jpg', 'missing']],
    );

    // The same run id with another dataset is refused (the execution fails with why), never silently mixed.
    await assert.rejects(
      drain(setup, () => setup.engine.run(setup.runMessage('r1', { dataset: path.join(root, 'elsewhere') }))),
      (err: Error) => err.name === 'CnnCodes.Permanent' && /already planned/.test(err.message),
    );
  }));

test('the planner records a dangling symlink as a reject with its kind, as the local extract does, not as ignored', () =>
  withTempDir(async (root) => {
    await writeFakeDataset(path.join(root, 'data'), 3);
    await symlink(path.join(root, 'gone.jpg'), path.join(root, 'data/train/ants/dangling.jpg'));
    await writeFile(path.join(root, 'data/train/notes.txt'), 'not an image');
    const setup = inProcessSetup(root);
    await drain(setup, () => setup.engine.run(setup.runMessage('r1')));

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
