import assert from 'node:assert/strict';
import { readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { DataQuality } from '../../../core/quality/data-quality.js';
import type { Evaluation } from '../../../core/workspace/evaluation.js';
import type { Manifest } from '../../../core/features/manifest.js';
import type { RunPlan } from '../../../core/use-cases/distributed/plan-run.js';
import { trainRun } from '../../../core/use-cases/distributed/train-run.js';
import { ConfigError } from '../../../core/errors.js';
import { handleBatch } from '../../../core/use-cases/distributed/router.js';
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
        handle: (messages) => handleBatch(setup.deps, messages),
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
    assert.deepEqual(setup.engine.answered, { run: 1, extract: 7, train: 1, evaluate: 1 });
    assert.equal(setup.engine.late, 0);
    for (const stage of STAGES) {
      assert.deepEqual(
        setup.deadLetters[stage].peek().map((e) => e.body),
        [poison[stage]],
        `${stage} DLQ`,
      );
      assert.equal(setup.queues[stage].size, 0);
    }
    // A hand-sent message without a task token, on any queue, is poison naming what it lacks.
    assert.match(setup.deadLetters.train.peek()[0]!.reason!, /extract\.workspace: required/);
    assert.deepEqual((await readdir(path.join(ws, 'parts'))).length, 7, 'one part per shard');
  }));

test('resubmitting a run id replays the frozen plan; an image deleted after planning becomes a "missing" reject', () =>
  withTempDir(async (root) => {
    await writeFakeDataset(path.join(root, 'data'), 3);
    const setup = inProcessSetup(root);
    const planned = setup.engine.task(setup.queues.run, setup.runMessage('r1'));
    const received = await setup.queues.run.receive();
    await handleBatch(setup.deps, received);
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

test('a poison shard: retried, then the run fails with its cause; within --tolerate N the run goes on without it, and train checks the tolerance itself (moto does not)', () =>
  withTempDir(async (root) => {
    await writeFakeDataset(path.join(root, 'data'), 4);
    const setup = inProcessSetup(root);
    const open = setup.deps.openEmbedder!;
    let tries = 0;
    // Shard 1's first image cannot be embedded by this backbone, ever: a permanent error, not a reject.
    setup.deps.openEmbedder = async (model, cuts) => {
      const embedder = await open(model, cuts);
      return {
        ...embedder,
        embedBatch: async (items) => {
          if (items.some((i) => Buffer.from(i.bytes).toString('latin1') === 'ants:train:0')) {
            tries += 1;
            throw new ConfigError('this backbone cannot take train/ants/000.jpg');
          }
          return embedder.embedBatch(items);
        },
      };
    };
    await assert.rejects(
      drain(setup, () => setup.engine.run(setup.runMessage('strict'))),
      (err: Error) => err.name === 'CnnCodes.Permanent' && /cannot take train\/ants\/000\.jpg/.test(err.message),
    );
    assert.equal(tries, 2, 'tried, then retried once, then the run failed');

    const output = (await drain(setup, () =>
      setup.engine.run(setup.runMessage('lenient', { toleratedFailures: 1 })),
    )) as { n: number };
    assert.equal(output.n, 8, 'every val image evaluated: the failed shard held train images');
    const manifest = JSON.parse(await readFile(path.join(root, 'runs/lenient/manifest.json'), 'utf8')) as Manifest;
    assert.equal(manifest.entries.length, 13, 'the 3 images of the failed shard are not in it');

    // An engine that does not enforce the Map's tolerance (moto): train refuses, naming the shard and why.
    await assert.rejects(
      trainRun(setup.deps, {
        v: 1,
        type: 'train',
        runId: 'strict',
        workspace: `${root}/runs/strict`,
        cache: `${root}/cache`,
        train: { C: 1 },
        split: 'val',
      }),
      /1 of 6 shards failed, 0 tolerated: shard 0: .*cannot take train\/ants\/000\.jpg/,
    );
  }));
