import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { FsBlobStore } from '../../core/adapters/fs-blob-store.js';
import { FeatureStore } from '../../core/features/feature-store.js';
import { readLocalManifest } from '../../core/adapters/sqlite-manifest-index.js';
import { copyHymenopteraSubset } from '../helpers/local-pipeline.js';
import { HYMENOPTERA, REPO_ROOT, requireShared, withTempDir } from '../helpers/paths.js';

const BIN = path.join(REPO_ROOT, 'bin', 'cnn-codes.js');

interface Exit {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The real binary, asynchronously (two at once, or a signal once it has made progress). */
function cli(args: string[], interruptWhen?: { signal: NodeJS.Signals; stderrMatches: RegExp }): Promise<Exit> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, CNN_CODES_SHARED: path.dirname(path.dirname(HYMENOPTERA)) },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
    if (interruptWhen && interruptWhen.stderrMatches.test(stderr) && child.exitCode === null) {
      child.kill(interruptWhen.signal);
      interruptWhen = undefined;
    }
  });
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

/** Every entry's final-layer code, in manifest order: what "the same codes" means across workspaces. */
async function codesOf(out: string): Promise<Buffer> {
  const manifest = await readLocalManifest(out);
  const ns = manifest.namespaces.final!;
  const info = { id: ns.id, dim: ns.dim, model: manifest.model.name, modelSha256: manifest.model.sha256, cut: 'final' };
  const codes = await new FeatureStore(new FsBlobStore(out)).readCodes(
    info,
    manifest.entries.map((e) => e.codes.final!),
  );
  return Buffer.from(codes.buffer, codes.byteOffset, codes.byteLength);
}

test('SIGINT/SIGTERM save the batches in flight and exit 130/143; the re-run resumes; concurrent runs agree; verify tells', () =>
  withTempDir(async (root) => {
    requireShared();
    const data = path.join(root, 'data');
    await copyHymenopteraSubset(data, 40); // 160 images: 80 train, 80 val, enough to stop midway
    const small = ['--workers', '1', '--batch-size', '2'];

    const reference = await cli(['run', '--data', data, '--out', path.join(root, 'ref'), '--json']);
    assert.equal(reference.status, 0, reference.stderr);
    const accuracy = JSON.parse(reference.stdout).evaluation.metrics.accuracy as number;
    const referenceCodes = await codesOf(path.join(root, 'ref'));

    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      const out = path.join(root, signal);
      const stopped = await cli(['extract', '--data', data, '--out', out, ...small], {
        signal,
        stderrMatches: /extract [1-9]\d*\/160/,
      });
      assert.equal(stopped.status, code, stopped.stderr);
      const saved = Number(/interrupted: (\d+) of 160 images have their codes saved/.exec(stopped.stderr)?.[1]);
      assert.match(stopped.stderr, /run the same command again to resume/);
      assert.ok(saved >= 1 && saved < 160, `saved ${saved}`);
      const resumed = await cli(['run', '--data', data, '--out', out, '--json', ...small]);
      assert.equal(resumed.status, 0, resumed.stderr);
      const r = JSON.parse(resumed.stdout);
      assert.deepEqual(
        [r.extract.embedded, r.extract.cached],
        [160 - saved, saved],
        'what was saved is not embedded again',
      );
      assert.equal(r.evaluation.metrics.accuracy, accuracy);
      assert.ok((await codesOf(out)).equals(referenceCodes), 'codes byte-identical to an uninterrupted run');
    }

    const shared = path.join(root, 'concurrent');
    const [one, two] = await Promise.all([
      cli(['run', '--data', data, '--out', shared, '--json']),
      cli(['run', '--data', data, '--out', shared, '--json']),
    ]);
    assert.equal(one.status, 0, one.stderr);
    assert.equal(two.status, 0, two.stderr);
    assert.deepEqual(
      [JSON.parse(one.stdout).evaluation.metrics.accuracy, JSON.parse(two.stdout).evaluation.metrics.accuracy],
      [accuracy, accuracy],
    );
    assert.ok((await codesOf(shared)).equals(referenceCodes));

    const clean = await cli(['verify', '--out', shared]);
    assert.equal(clean.status, 0, clean.stderr);
    assert.match(clean.stdout, /verify: clean/);
    const manifest = await readLocalManifest(shared);
    const victim = path.join(
      shared,
      'codes',
      manifest.namespaces.final!.id,
      'shards',
      `${manifest.entries[0]!.codes.final!.shard}.npy`,
    );
    const bytes = await readFile(victim);
    bytes[bytes.length - 1]! ^= 0x04;
    await writeFile(victim, bytes);
    const dirty = await cli(['verify', '--out', shared]);
    assert.equal(dirty.status, 3, 'not clean: exit 3');
    assert.ok(dirty.stderr.includes(path.basename(victim)), dirty.stderr);
    const repaired = await cli(['verify', '--out', shared, '--repair']);
    assert.equal(repaired.status, 0, repaired.stderr);
    // The two concurrent runs may both have embedded an image: then a sound twin of the damaged shard holds its rows,
    // and the repair only points the manifest at it (0 re-extracted). Either way the workspace is clean afterwards.
    assert.match(repaired.stdout, /repaired: .* 1 damaged, .* \d+ images re-extracted/);
    assert.equal((await cli(['verify', '--out', shared])).status, 0);
    assert.ok((await codesOf(shared)).equals(referenceCodes));
  }));
