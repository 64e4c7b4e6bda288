/**
 * A second `cnn-codes run` on unchanged data against the first, both through the real binary on hymenoptera in one
 * script: wall time including process start, as a user sees it. The target: under 10 % of the first run.
 *
 *   node dist/bench/rerun.js [--data DIR] [--repeat N]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { HYMENOPTERA, REPO_ROOT } from '../test/helpers/paths.js';

const { values } = parseArgs({
  options: { data: { type: 'string', default: HYMENOPTERA }, repeat: { type: 'string', default: '5' } },
});
const BIN = path.join(REPO_ROOT, 'bin', 'cnn-codes.js');

function timedRun(out: string): { seconds: number; embedded: number; evaluationReused: boolean } {
  const started = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'run', '--data', values.data!, '--out', out, '--json'], {
    encoding: 'utf8',
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`cnn-codes run failed: ${r.stderr}`);
  const result = JSON.parse(r.stdout) as { extract: { embedded: number }; evaluation: { reused: boolean } };
  return { seconds, embedded: result.extract.embedded, evaluationReused: result.evaluation.reused };
}

const out = await mkdtemp(path.join(tmpdir(), 'cnn-codes-bench-rerun-'));
try {
  const first = timedRun(out);
  const again = Array.from({ length: Number(values.repeat) }, () => timedRun(out));
  const median = [...again].sort((a, b) => a.seconds - b.seconds)[Math.floor(again.length / 2)]!;
  console.log(`data: ${values.data}`);
  console.log('| run | wall (s) | inferences | evaluation | × first run |');
  console.log('|---|---:|---:|---|---:|');
  console.log(`| first (cold cache) | ${first.seconds.toFixed(2)} | ${first.embedded} | computed | 1.00 |`);
  console.log(
    `| second, unchanged data (median of ${again.length}) | ${median.seconds.toFixed(2)} | ${median.embedded} | ${median.evaluationReused ? 'kept' : 'computed'} | ${(median.seconds / first.seconds).toFixed(3)} |`,
  );
} finally {
  await rm(out, { recursive: true, force: true });
}
