import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { namespaceOf } from '../../../core/features/feature-store.js';
import type { Manifest } from '../../../core/features/manifest.js';
import type { ExtractMessage } from '../../../core/messages/schema.js';
import { BUILTIN_MODELS } from '../../../core/models/builtin.js';
import { handleWork } from '../../../core/use-cases/distributed/router.js';
import { planRun, type PlanOutput } from '../../../core/use-cases/distributed/plan-run.js';
import { trainRun } from '../../../core/use-cases/distributed/train-run.js';
import { buildRuntime } from '../../../functions/shared/runtime.js';
import { settingsFromEnv } from '../../../functions/shared/settings.js';
import { ENV } from '../../../contracts/cross-process.js';
import { inProcessSetup, writeFakeDataset, type InProcessSetup } from '../../helpers/distributed.js';
import { withTempDir } from '../../helpers/paths.js';

/** The default deployment's two first-run failures (issue 21), each pinned here without AWS. */

const descriptor = BUILTIN_MODELS.find((d) => d.name === 'mobilenetv2-12-int8')!;

/** The Map: every shard of the plan's manifest, in order. */
async function extractAll(setup: InProcessSetup, plan: PlanOutput): Promise<void> {
  const extracts = JSON.parse(await readFile(plan.manifest.key, 'utf8')) as ExtractMessage[];
  for (const m of extracts) await handleWork(setup.deps, m);
}

async function keysUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

test('the planner reads the code cache and never writes it: a fresh cache plans with code writes refused', () =>
  withTempDir(async (root) => {
    await writeFakeDataset(path.join(root, 'data'), 3);
    const setup = inProcessSetup(root);
    const open = setup.deps.openFeatures;
    // What the train-head role allows on cache/: reads (and cache/sources/, which is not the code cache).
    setup.deps.openFeatures = (uri, purpose) => {
      if (purpose === 'write') throw new Error(`AccessDenied: the planner opened ${uri} for writing`);
      return open(uri, purpose);
    };
    const plan = await planRun(setup.deps, setup.runMessage('fresh'));
    assert.equal(plan.shards, 4, '12 images in shards of 3');
    assert.deepEqual(
      (await keysUnder(path.join(root, 'cache'))).filter((k) => !k.startsWith('sources/')),
      [],
      'no index.json or any other object under the code cache',
    );
  }));

test('a GPU deployment: parts in the CUDA namespace train, and a planner without a backbone looks them up there', () =>
  withTempDir(async (root) => {
    await writeFakeDataset(path.join(root, 'data'), 3);
    const setup = inProcessSetup(root);
    setup.deps.extractTarget = 'cuda';
    const plan = await planRun(setup.deps, setup.runMessage('gpu'));
    await extractAll(setup, plan);
    await trainRun(setup.deps, plan.train);
    const manifest = JSON.parse(await readFile(path.join(root, 'runs/gpu/manifest.json'), 'utf8')) as Manifest;
    const cuda = namespaceOf(descriptor, 'final', 'cuda');
    assert.equal(manifest.namespaces.final!.id, cuda.id);
    assert.notEqual(cuda.id, namespaceOf(descriptor, 'final').id);
    assert.equal(manifest.entries.length, 12);

    // A planner with no backbone, told the deployment's extract target, looks its codes up where they are.
    const planner = inProcessSetup(root);
    delete planner.deps.openEmbedder;
    planner.deps.extractTarget = 'cuda';
    const looked: Array<{ ns: string; codes: number }> = [];
    const open = planner.deps.openFeatures;
    planner.deps.openFeatures = (uri, purpose) => {
      const store = open(uri, purpose);
      const load = store.loadIndex.bind(store);
      store.loadIndex = async (ns, options) => {
        const index = await load(ns, options);
        looked.push({ ns: ns.id, codes: index.codes.size });
        return index;
      };
      return store;
    };
    await planRun(planner.deps, planner.runMessage('again'));
    assert.deepEqual(looked, [{ ns: cuda.id, codes: 12 }]);
  }));

test("a deployed planner (no backbone) takes its extract target from the deployment's extract compute", async () => {
  const env = { [ENV.bucket]: 'b', AWS_REGION: 'us-east-1' };
  const cases: Array<[Record<string, string>, boolean, string]> = [
    [{ [ENV.extractCompute]: 'gpu' }, false, 'cuda'],
    [{ [ENV.extractCompute]: 'lambda' }, false, 'cpu'],
    [{ [ENV.extractCompute]: 'gpu', [ENV.executionProvider]: 'cuda' }, true, 'cuda'],
    [{ [ENV.executionProvider]: 'cpu' }, true, 'cpu'],
  ];
  for (const [vars, withBackbone, target] of cases) {
    const runtime = buildRuntime(settingsFromEnv({ ...env, ...vars }), { withBackbone });
    try {
      assert.equal(runtime.deps.extractTarget, target, JSON.stringify(vars));
    } finally {
      await runtime.close();
    }
  }
});
