import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { runCampaign, type FuzzTarget } from '../../../fuzz/engine.js';

const MiB = 2 ** 20;

/** A throwaway target around `run`: every input is accepted, so only the budgets can make findings. */
function target(name: string, run: () => void): FuzzTarget {
  return { name, maxLength: 64, run, expected: () => true, seeds: () => [new Uint8Array([1, 2, 3])] };
}

async function campaign(t: FuzzTarget) {
  const dir = await mkdtemp(path.join(tmpdir(), 'cnn-codes-fuzz-budget-'));
  try {
    return runCampaign(t, {
      runs: 8192,
      seconds: 30,
      timeBudgetMs: 1000,
      rssBudgetBytes: 64 * MiB,
      corpusDir: path.join(dir, 'corpus'),
      findingsDir: path.join(dir, 'findings'),
      seed: 1,
      replayOnly: false,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const kinds = (r: { findings: { kind: string }[] }) => [...new Set(r.findings.map((f) => f.kind))];

test('the fuzzer reports an input that allocates past the memory budget ', async () => {
  const kept: Uint8Array[] = [];
  let calls = 0;
  const bomb = await campaign(
    target('bomb', () => {
      if (++calls === 3000) kept.push(new Uint8Array(128 * MiB).fill(1));
    }),
  );
  assert.deepEqual(kinds(bomb), ['over-memory']);
  kept.length = 0;
});

test('a campaign of cheap inputs is no memory finding', async () => {
  const cheap = await campaign(target('cheap', () => void JSON.stringify(Array.from({ length: 64 }, (_, i) => i))));
  assert.equal(cheap.executions, 8192);
  assert.deepEqual(cheap.findings, []);
});
