/**
 * The envelope every benchmark's result file carries (bench/results/<bench>.json): which commit ran it, when, on
 * which CPU (core's describeCpu: model and the flags that pick the int8 kernels), under what load before and after,
 * with which versions, and by which command. The figures go under `figures`; bench/render-docs.ts renders the docs'
 * tables from these files, and test/unit/docs/figures-drift.test.ts fails when a doc's table and its file disagree.
 *
 *   const result = startResult('rerun');         // records commit, date, CPU, load before, node's version
 *   ...measure...
 *   result.save({ firstSeconds, ... });          // adds load after and writes bench/results/rerun.json
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import * as path from 'node:path';
import { describeCpu } from '../core/models/int8-weights-choice.js';
import { REPO_ROOT } from '../test/helpers/paths.js';

export interface ResultEnvelope<F = unknown> {
  bench: string;
  /** The command line that reproduces the file, from the repository root. */
  command: string;
  commit: string;
  /** True when the working tree had uncommitted changes: the commit alone does not reproduce it. */
  dirty: boolean;
  date: string;
  /** core's describeCpu(): model name and the int8-relevant flags, e.g. `AMD EPYC (x64; avx2 … avx512_vnni)`. */
  cpu: string;
  cores: number;
  /** 1-, 5- and 15-minute load averages. */
  loadBefore: number[];
  loadAfter: number[];
  versions: Record<string, unknown>;
  figures: F;
}

export const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');

export const loadAverage = (): number[] => loadavg().map((l) => Number(l.toFixed(2)));

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Starts a result: everything but the figures and the load after is recorded now, before the measurement. */
export function startResult(
  bench: string,
  options: { command?: string; versions?: Record<string, unknown> } = {},
): { envelope: Omit<ResultEnvelope, 'figures' | 'loadAfter'>; save<F>(figures: F, file?: string): string } {
  const envelope = {
    bench,
    command: options.command ?? `node dist/bench/${bench}.js ${process.argv.slice(2).join(' ')}`.trim(),
    commit: git(['rev-parse', '--short', 'HEAD']) ?? 'unknown',
    dirty: (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '',
    date: new Date().toISOString(),
    cpu: describeCpu(),
    cores: availableParallelism(),
    loadBefore: loadAverage(),
    versions: { node: process.version, ...options.versions },
  };
  return {
    envelope,
    /** Writes bench/results/<bench>.json, or `file` (relative to the working directory) where one is given. */
    save<F>(figures: F, file = path.join(RESULTS_DIR, `${bench}.json`)): string {
      const result: ResultEnvelope<F> = { ...envelope, loadAfter: loadAverage(), figures };
      mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
      return file;
    },
  };
}

/**
 * The local extraction rate that compute costs are scaled from, read from bench/results/extract.json rather than
 * typed: bench/extract's whole-process rate (the real binary, decoding included) on its largest set, the ×4
 * hymenoptera copy, with the cores it ran on. docs/cost.md's table (bench/render-docs.ts) and bench/serverless-scale's
 * cost per million images both start from it, so they cannot quote two rates for one machine.
 */
export function measuredExtraction(): { imagesPerSecond: number; cpus: number; set: string; source: string } {
  const file = path.join(RESULTS_DIR, 'extract.json');
  const r = JSON.parse(readFileSync(file, 'utf8')) as {
    commit?: string;
    cores: number;
    wholeProcess: { runs: Record<string, { oursMedian: { rate: number } }> };
  };
  const [set, run] = Object.entries(r.wholeProcess.runs).at(-1) ?? [];
  if (!set || !run) throw new Error(`${file}: no whole-process run`);
  return {
    imagesPerSecond: run.oursMedian.rate,
    cpus: r.cores,
    set,
    source: `bench/results/extract.json (commit ${r.commit ?? 'not recorded'}, ${set})`,
  };
}
