/**
 * A second `cnn-codes run` on unchanged data against the first, both through the real binary on hymenoptera in one
 * script: wall time including process start, as a user sees it. The target: under 10 % of the first run.
 * Writes bench/results/rerun.json, with the first run's val accuracy and log-loss (the README's headline) and its
 * calibration: the temperature, and val ECE and log-loss with and without it (docs/data-quality.md's table).
 *
 *   node dist/bench/rerun.js [--data DIR] [--repeat N]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
  calibration?: Calibration;
}

/** What the run's temperature scaling did on val, and what it was fitted on. */
interface Calibration {
  C: number;
  temperature: number;
  /** Out-of-fold train rows T was fitted on (those whose label is not suspect). */
  rows: number;
  before: { ece: number; logLoss: number | null };
  after: { ece: number; logLoss: number | null };
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
    head: { C: number };
    evaluation: {
      reused: boolean;
      metrics: TimedRun['metrics'];
      calibration?: Pick<Calibration, 'temperature' | 'before' | 'after'>;
    };
  };
  const { accuracy, logLoss, n } = result.evaluation.metrics;
  const scored = result.evaluation.calibration;
  const fitted = (JSON.parse(readFileSync(path.join(out, 'head.json'), 'utf8')) as { calibration?: { rows: number } })
    .calibration;
  return {
    seconds,
    embedded: result.extract.embedded,
    evaluationReused: result.evaluation.reused,
    metrics: { accuracy, logLoss, n },
    ...(scored && fitted
      ? {
          calibration: {
            C: result.head.C,
            temperature: scored.temperature,
            rows: fitted.rows,
            before: { ece: scored.before.ece, logLoss: scored.before.logLoss },
            after: scored.after,
          },
        }
      : {}),
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
    first: { seconds: first.seconds, embedded: first.embedded, val: first.metrics, calibration: first.calibration },
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
