/**
 * A second `cnn-codes run` on unchanged data against the first, both through the real binary on hymenoptera in one
 * script: wall time including process start, as a user sees it. The target: under 10 % of the first run.
 * Writes bench/results/rerun.json, with the first run's val accuracy and log-loss (the README's headline).
 *
 *   node dist/bench/rerun.js [--data DIR] [--repeat N]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { HYMENOPTERA, REPO_ROOT } from '../test/helpers/paths.js';
import { startResult } from './results-file.js';

const { values } = parseArgs({
  options: { data: { type: 'string', default: HYMENOPTERA }, repeat: { type: 'string', default: '5' } },
});
const BIN = path.join(REPO_ROOT, 'bin', 'cnn-codes.js');

interface TimedRun {
  seconds: number;
  embedded: number;
  evaluationReused: boolean;
  metrics: { accuracy: number; logLoss: number; n: number };
}

function timedRun(out: string): TimedRun {
  const started = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'run', '--data', values.data!, '--out', out, '--json'], {
    encoding: 'utf8',
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`cnn-codes run failed: ${r.stderr}`);
  const result = JSON.parse(r.stdout) as {
    extract: { embedded: number };
    evaluation: { reused: boolean; metrics: TimedRun['metrics'] };
  };
  const { accuracy, logLoss, n } = result.evaluation.metrics;
  return {
    seconds,
    embedded: result.extract.embedded,
    evaluationReused: result.evaluation.reused,
    metrics: { accuracy, logLoss, n },
  };
}

const result = startResult('rerun');
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
  const file = result.save({
    data: path.basename(values.data!),
    first: { seconds: first.seconds, embedded: first.embedded, val: first.metrics },
    again: {
      repeats: again.length,
      medianSeconds: median.seconds,
      secondsEach: again.map((r) => r.seconds),
      embedded: median.embedded,
      evaluationKept: median.evaluationReused,
    },
  });
  console.log(`written: ${path.relative(REPO_ROOT, file)}`);
} finally {
  await rm(out, { recursive: true, force: true });
}
