import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, requireShared, withTempDir } from '../helpers/paths.js';

test('bench/scale at a small N: generate, extract, train, evaluate, re-run, two SIGKILLs, byte-identical codes', () =>
  withTempDir(async (dir) => {
    requireShared();
    const r = spawnSync(
      process.execPath,
      [path.join(REPO_ROOT, 'dist', 'bench', 'scale.js'), '--n', '40', '--kills', '2', '--dir', dir, '--skip-compare'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /\| extract, 2 kills \+ resumes \| [\d.]+ \| – \| \d+ \| [\d.]+ images\/s/);
    assert.match(r.stdout, /peak RSS per phase \(target ≤ 1024 MiB\): extract \d+, train \d+, evaluate \d+ MiB/);
    assert.match(r.stdout, /final codes byte-identical to an uninterrupted run \(40 images\): yes/);
  }));
