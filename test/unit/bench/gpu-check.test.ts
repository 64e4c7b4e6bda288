import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, withTempDir } from '../../helpers/paths.js';

const SCRIPT = path.join(REPO_ROOT, 'bench', 'gpu-check.sh');

for (const [what, fake] of [
  ['nvidia-smi missing', undefined],
  ['nvidia-smi listing no GPU (driver without a device)', '#!/bin/sh\necho "No devices were found" >&2\nexit 6\n'],
] as const) {
  test(`bench/gpu-check.sh on a machine without an NVIDIA GPU (${what}): says so and exits 2 before building anything`, async () => {
    await withTempDir(async (bin) => {
      if (fake) {
        await writeFile(path.join(bin, 'nvidia-smi'), fake);
        await chmod(path.join(bin, 'nvidia-smi'), 0o755);
      }
      // The fake first on PATH; without one, a PATH that has no nvidia-smi (the GPU machines keep it in /usr/bin).
      const PATH = fake ? `${bin}:${process.env.PATH}` : `${bin}:${path.dirname(process.execPath)}`;
      // The 10 s limit is the bound for this answer: a script that started building would be killed by it.
      const r = spawnSync('/bin/bash', [SCRIPT], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, PATH } });
      assert.equal(r.status, 2, `exit ${r.status} (signal ${r.signal}): ${r.stderr}`);
      assert.match(r.stderr, /no NVIDIA GPU here/);
      assert.equal(r.stdout, '', 'nothing measured, nothing printed');
    });
  });
}
