/**
 * Renders every figure and every generated reference in the docs from its source, between markers:
 *
 *   <!-- figures:extract-whole -->   …rendered from bench/results/extract.json…   <!-- /figures:extract-whole -->
 *
 * Tables come from bench/results/<bench>.json (each carries its commit, date, CPU, load before and after: see
 * bench/results-file.ts); docs/cli.md's flags come from cli/ (the same FlagDocs `--help` prints) and
 * docs/configuration.md from contracts/cross-process.ts and infra/config.ts (their doc comments and defaults).
 * `npm run docs` rewrites the files; test/unit/docs/figures-drift.test.ts fails when a file differs from what this
 * renders, so a result file and the docs cannot disagree. Rendering is pure and idempotent: run it again after a
 * bench writes a new result file.
 *
 *   npm run docs            (node dist/bench/render-docs.js [--check])
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { COMMON_OPTIONS, flagDoc } from '../cli/args.js';
import { COMMANDS } from '../cli/commands/index.js';
import { ENV } from '../contracts/cross-process.js';
import { BUILTIN_MODELS, DEFAULT_MODEL } from '../core/models/builtin.js';
import { estimateCosts, PRICE_TABLE } from '../core/report/pricing.js';
import { REPO_ROOT } from '../test/helpers/paths.js';
import type { StreamedFit } from './heads-stream.js';
import type { TrainStep } from './train-workspace.js';
import { measuredExtraction } from './results-file.js';

type Json = Record<string, unknown>;

const NONE = 'not recorded';

const RESULTS = path.join(REPO_ROOT, 'bench', 'results');

/** The Markdown files that may hold markers: the README, the top-level guides and every page in docs/. */
export function docFiles(): string[] {
  const docs = readdirSync(path.join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', 'CONTRIBUTING.md', ...docs];
}

export function readResult(name: string): Json {
  return JSON.parse(readFileSync(path.join(RESULTS, `${name}.json`), 'utf8')) as Json;
}

// ---- formatting ------------------------------------------------------------------------------------------------

const fixed = (n: unknown, digits: number): string => {
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new Error(`expected a number, got ${JSON.stringify(n)}`);
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
};
const pct = (x: unknown, digits = 1): string => `${fixed(Number(x) * 100, digits)} %`;
const times = (x: unknown, digits = 2): string => `${fixed(x, digits)}×`;

/** A table cell's text: pipes escaped (also inside code spans, as GFM tables require), tags shown as text. */
const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('<', '&lt;');

function table(header: string[], rows: string[][], align: Array<'l' | 'r'> = []): string {
  const rule = header.map((_, i) => (align[i] === 'r' ? '---:' : '---'));
  return [header, rule, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** What every table says about its run: file, commit, date, CPU and the load before → after (1-minute average). */
interface Run {
  file: string;
  commit: string;
  date: string;
  cpu: string;
  load: string;
  command?: string;
  /** Set for a file transcribed from a run's output committed before result files existed (see RecordedFrom). */
  recorded?: RecordedFrom;
}

/**
 * A result file made from a run's printed output that was committed before bench/results-file.ts existed: which file
 * and commit hold that output. Such a file has no commit, date or load before/after of its own (null), the load as
 * the text gave it (`loadRecorded`), and is not a re-measurement; the docs say so under its table.
 */
interface RecordedFrom {
  file: string;
  commit: string;
  committed: string;
  note: string;
}

const utc = (iso: string): string =>
  new Date(iso)
    .toISOString()
    .replace('T', ' ')
    .replace(/:\d\d(\.\d+)?Z$/, ' UTC');

function runOf(file: string, r: Json): Run {
  const load = (r.load as { before?: number[]; after?: number[] } | undefined) ?? {};
  const before = (r.loadBefore as number[] | undefined) ?? load.before;
  const after = (r.loadAfter as number[] | undefined) ?? load.after;
  const cpu = typeof r.cpu === 'string' ? r.cpu : ((r.cpu as { flags?: string } | undefined)?.flags ?? NONE);
  const cores = (r.cores as number | undefined) ?? (r.cpu as { cores?: number } | undefined)?.cores;
  const recorded = r.recordedFrom as RecordedFrom | undefined;
  return {
    file,
    commit: typeof r.commit === 'string' ? `${r.commit}${r.dirty === true ? '+' : ''}` : NONE,
    date: typeof r.date === 'string' ? utc(r.date) : NONE,
    cpu: cores && !recorded ? `${cpu}, ${cores} cores` : cpu,
    load:
      before && after
        ? `${fixed(before[0], 2)} → ${fixed(after[0], 2)}`
        : typeof r.loadRecorded === 'string'
          ? `${r.loadRecorded} (as recorded)`
          : NONE,
    ...(typeof r.command === 'string' ? { command: r.command } : {}),
    ...(recorded ? { recorded } : {}),
  };
}

/** The line under a table: where its figures come from and how to make them again (what a file lacks is said so). */
function source(run: Run, command = run.command): string {
  const file = `[${run.file}](${path.posix.relative('docs', run.file)})`;
  const reproduce = command ? `; reproduce with \`${command}\`.` : '.';
  if (run.recorded) {
    const { file: from, commit, committed } = run.recorded;
    const where = from === 'commit message' ? `the message of commit ${commit}` : `${from} at commit ${commit}`;
    // A command that is not a bench's (a hand run of the CLI) is said as such, not offered as a one-line reproduction.
    const how = command && !command.startsWith('node ') ? `; a hand run: ${command}.` : reproduce;
    return (
      `Source: ${file}, **recorded, not re-measured**: transcribed from the output quoted in ${where} ` +
      `(${utc(committed)}; the run was before it, its commit and exact date not recorded), ${run.cpu}, load ${run.load}${how}`
    );
  }
  const fields: Array<[string, string | undefined]> = [
    ['commit', run.commit === NONE ? undefined : `commit ${run.commit}`],
    ['date', run.date === NONE ? undefined : run.date],
    ['CPU', run.cpu === NONE ? undefined : run.cpu],
    ['load', run.load === NONE ? undefined : `load ${run.load}`],
  ];
  const known = fields.flatMap(([, v]) => (v ? [v] : []));
  const lacking = fields.flatMap(([name, v]) => (v ? [] : [name]));
  const missing = lacking.length ? ` (the file records no ${lacking.join(', ')}: rerun the bench to have them)` : '';
  return `Source: ${[file, ...known].join(', ')}${missing}${reproduce}`;
}

const fileOf = (name: string) => `bench/results/${name}.json`;

// ---- benchmark blocks ---------------------------------------------------------------------------------------------

interface WholeRun {
  oursMedian: { rate: number; cpuRate: number; seconds: number };
  peerMedian: { rate: number; cpuRate: number; seconds: number };
  timesPeer: number;
}

function extractRuns(r: Json): Array<[string, WholeRun]> {
  return Object.entries((r.wholeProcess as { runs: Record<string, WholeRun> }).runs);
}

const recallOf = (r: { sample: number; exactPairs: number; found: number; recall: number }): string =>
  `${fixed(r.recall, 3)} (${fixed(r.found, 0)} of ${fixed(r.exactPairs, 0)} exact pairs among ${fixed(r.sample, 0)} rows)`;

/** The provenance of the runs a table shows, one line each, under the table. */
function runLines(file: string, runs: Array<[string, Json]>): string[] {
  return runs.map(([key, run]) => `- ${key}: ${source(runOf(file, run)).replace(/^Source: [^,]+, /, '')}`);
}

/** One row per run of bench/results/data-quality.json that `keep` selects, each run's provenance listed below. */
function perRun(keep: (run: Json) => boolean, header: string[], row: (key: string, run: Json) => string[]): string {
  const runs = Object.entries(readResult('data-quality').runs as Record<string, Json>).filter(([, run]) => keep(run));
  const file = fileOf('data-quality');
  return [
    table(
      header,
      runs.map(([key, run]) => row(key, run)),
      ['l', ...header.slice(1).map(() => 'r' as const)],
    ),
    '',
    `Source: [${file}](../${file}), one entry per run:`,
    '',
    ...runLines(file, runs),
  ].join('\n');
}

const BENCH_BLOCKS: Record<string, () => string> = {
  headline() {
    const rerun = readResult('rerun');
    const extract = readResult('extract');
    const f = rerun.figures as {
      first: { seconds: number; val: { accuracy: number; logLoss: number; n: number } };
      again: { medianSeconds: number; embedded: number };
    };
    const [small, large] = extractRuns(extract);
    const rr = runOf(fileOf('rerun'), rerun);
    const er = runOf(fileOf('extract'), extract);
    const when = (run: Run) => `${run.date.slice(0, 10)}, ${run.commit}`;
    const rows = [
      [
        'hymenoptera val accuracy, default `run`',
        `**${pct(f.first.val.accuracy)}**, log-loss ${fixed(f.first.val.logLoss, 3)} on ${f.first.val.n} images`,
        when(rr),
        rr.load,
      ],
      [
        `extraction, whole process, ${small![0]} / ${large![0]}`,
        `${fixed(small![1].oursMedian.rate, 1)} / ${fixed(large![1].oursMedian.rate, 1)} images/s: **${times(small![1].timesPeer)}** / ${times(large![1].timesPeer)} the Python peer (onnxruntime + PIL)`,
        when(er),
        er.load,
      ],
      [
        '`run` again on unchanged data',
        `**${fixed(f.again.medianSeconds, 2)} s** wall, ${f.again.embedded} inferences (${pct(f.again.medianSeconds / f.first.seconds)} of the first run's ${fixed(f.first.seconds, 1)} s)`,
        when(rr),
        rr.load,
      ],
    ];
    const cpus = [...new Set([rr.cpu, er.cpu])].join('; ');
    return [
      table(['what', 'figure', 'date, commit', 'load before → after'], rows),
      '',
      `Machine: ${cpus}. From [${rr.file}](../${rr.file}) and [${er.file}](../${er.file}); [docs/benchmarks.md](../docs/benchmarks.md) has every table.`,
    ].join('\n');
  },

  'extract-inference'() {
    const r = readResult('extract');
    const ms = (r.inference as { msPerImage: Record<string, number> }).msPerImage;
    const entries = Object.entries(ms);
    const stock = entries[0]![1];
    const rows = entries.map(([label, v]) => [label, fixed(v, 3), times(v / stock, 3)]);
    return [
      table(['graph (one thread, batch 16, Python onnxruntime)', 'ms / image', '× the model as shipped'], rows, [
        'l',
        'r',
        'r',
      ]),
      '',
      source(runOf(fileOf('extract'), r), 'node dist/bench/extract.js'),
    ].join('\n');
  },

  'extract-whole'() {
    const r = readResult('extract');
    const whole = r.wholeProcess as {
      small: Record<string, { label: string; seconds: number; cpuSeconds: number }>;
      rerun: { label: string; seconds: number; cpuSeconds: number };
      tutorials: Array<{ label: string; images: number; seconds: number; cpuSeconds: number }>;
    };
    const rows = extractRuns(r).map(([label, w]) => [
      label,
      fixed(w.oursMedian.rate, 1),
      fixed(w.peerMedian.rate, 1),
      `**${times(w.timesPeer)}**`,
      times(w.oursMedian.cpuRate / w.peerMedian.cpuRate),
    ]);
    const tutorial = whole.tutorials.map((t) => [t.label, fixed(t.images / t.seconds, 1), '–', '–', '–']);
    const single = [...Object.values(whole.small), whole.rerun].map(
      (s) => `- ${s.label}: ${fixed(s.seconds, 2)} s wall, ${fixed(s.cpuSeconds, 2)} CPU-s`,
    );
    return [
      table(
        [
          'data (median of alternated pairs)',
          'cnn-codes images/s',
          'Python peer images/s',
          '× peer (wall)',
          '× peer (per CPU-s)',
        ],
        [...rows, ...tutorial],
        ['l', 'r', 'r', 'r', 'r'],
      ),
      '',
      ...single,
      '',
      source(runOf(fileOf('extract'), r), 'node dist/bench/extract.js'),
    ].join('\n');
  },

  'extract-stages'() {
    const r = readResult('extract');
    const stages = r.stages as Array<{
      label: string;
      imagesPerSecond?: number;
      decodeMs: number;
      inferMs: number;
      peakRssMiB?: number;
    }>;
    const rows = stages.map((s) => [
      s.label,
      s.imagesPerSecond === undefined ? '–' : fixed(s.imagesPerSecond, 1),
      fixed(s.decodeMs, 2),
      fixed(s.inferMs, 2),
      s.peakRssMiB === undefined ? '–' : fixed(s.peakRssMiB, 0),
    ]);
    return [
      table(['in process', 'images/s', 'decode → crop ms / image', 'inference ms / image', 'peak RSS MiB'], rows, [
        'l',
        'r',
        'r',
        'r',
        'r',
      ]),
      '',
      source(runOf(fileOf('extract'), r), 'node dist/bench/extract.js'),
    ].join('\n');
  },

  'extract-split'() {
    const parts: string[] = [];
    for (const cores of [1, 2]) {
      const name = `extract-split-${cores}core`;
      const r = readResult(name);
      const rows = (
        r.split as Array<{
          workers: number;
          threads: number;
          batch: number;
          imagesPerSecond: number;
          decodeMs: number;
          inferMs: number;
        }>
      ).map((s) => [
        String(s.workers),
        String(s.threads),
        String(s.batch),
        fixed(s.imagesPerSecond, 1),
        fixed(s.decodeMs, 2),
        fixed(s.inferMs, 2),
      ]);
      parts.push(
        `${cores} core${cores > 1 ? 's' : ''} usable:`,
        '',
        table(['workers', 'threads', 'batch', 'images/s', 'decode ms', 'inference ms'], rows, [
          'r',
          'r',
          'r',
          'r',
          'r',
          'r',
        ]),
        '',
        source(runOf(fileOf(name), r), `taskset -c 0${cores > 1 ? ',1' : ''} node dist/bench/extract.js --split-only`),
        '',
      );
    }
    return parts.join('\n').trimEnd();
  },

  decode() {
    const r = readResult('decode');
    const sets = r.sets as Record<
      string,
      { pil: Record<string, number>; rows: Array<{ name: string; pipelineMs: number; meanAbs?: number }> }
    >;
    const parts: string[] = [];
    for (const [set, v] of Object.entries(sets)) {
      const pil = v.pil['decode+resize+crop@1']!;
      const rows = [
        ['PIL + torchvision (the reference)', fixed(pil, 2), times(1), '0'],
        ...v.rows.map((row) => [
          row.name,
          fixed(row.pipelineMs, 2),
          times(row.pipelineMs / pil),
          row.meanAbs === undefined ? '–' : fixed(row.meanAbs, 3),
        ]),
      ];
      parts.push(
        `${set}:`,
        '',
        table(['decode → Resize(256) → CenterCrop(224)', 'CPU ms / image', '× PIL', 'mean abs. diff. to PIL'], rows, [
          'l',
          'r',
          'r',
          'r',
        ]),
        '',
      );
    }
    parts.push(source(runOf(fileOf('decode'), r), 'node dist/bench/decode.js'));
    return parts.join('\n');
  },

  heads() {
    const r = readResult('heads');
    const sections = r.figures as Record<
      string,
      Array<{ method: string; valAccuracy: number; fitSeconds: number; cpuSeconds: number; notes: string }>
    >;
    const titles: Record<string, string> = {
      small: 'C by 5-fold CV over 8 Cs, 245 × 1,280 codes (generated stand-in of hymenoptera\u2019s size), one thread',
      synthetic: 'one C, 100,000 × 512 × 10 classes, every core',
    };
    const parts: string[] = [];
    for (const [key, rows] of Object.entries(sections)) {
      parts.push(
        `${titles[key] ?? key}:`,
        '',
        table(
          ['method', 'val accuracy', 'wall s', 'CPU s', 'wall × scikit-learn', 'CPU × scikit-learn', 'notes'],
          rows.map((row) => {
            // The bench's own reference: scikit-learn's SVM for SVMs, its logistic regression (on our grid) otherwise.
            const svm = (m: string) => /svm|SVC/.test(m);
            const refs = rows.filter((x) => x.method.startsWith('scikit-learn') && svm(x.method) === svm(row.method));
            const ref =
              refs.find((x) => x.method.includes('our grid')) ?? refs.find((x) => !x.method.includes('Cs=10'));
            return [
              row.method,
              pct(row.valAccuracy, 2),
              fixed(row.fitSeconds, 3),
              fixed(row.cpuSeconds, 3),
              ref ? times(row.fitSeconds / ref.fitSeconds) : '–',
              ref ? times(row.cpuSeconds / ref.cpuSeconds) : '–',
              row.notes,
            ];
          }),
          ['l', 'r', 'r', 'r', 'r', 'r', 'l'],
        ),
        '',
      );
    }
    parts.push(source(runOf(fileOf('heads'), r)));
    return parts.join('\n');
  },

  rerun() {
    const r = readResult('rerun');
    const f = r.figures as {
      data: string;
      first: { seconds: number; embedded: number; val: { accuracy: number; logLoss: number; n: number } };
      again: { repeats: number; medianSeconds: number; embedded: number; evaluationKept: boolean };
    };
    return [
      table(
        ['`cnn-codes run` on ' + f.data, 'wall s', 'inferences', 'evaluation', '× first run'],
        [
          ['first (cold cache)', fixed(f.first.seconds, 2), String(f.first.embedded), 'computed', times(1, 3)],
          [
            `again, unchanged data (median of ${f.again.repeats})`,
            fixed(f.again.medianSeconds, 2),
            String(f.again.embedded),
            f.again.evaluationKept ? 'kept' : 'computed',
            times(f.again.medianSeconds / f.first.seconds, 3),
          ],
        ],
        ['l', 'r', 'r', 'l', 'r'],
      ),
      '',
      `First run's val: accuracy ${pct(f.first.val.accuracy)}, log-loss ${fixed(f.first.val.logLoss, 4)} on ${f.first.val.n} images.`,
      '',
      source(runOf(fileOf('rerun'), r)),
    ].join('\n');
  },

  'rerun-extract'() {
    const rows: string[][] = [];
    const sources: string[] = [];
    const notes: string[] = [];
    for (const name of ['rerun-extract', 'rerun-extract-synthetic']) {
      if (!existsSync(path.join(RESULTS, `${name}.json`))) continue;
      const r = readResult(name);
      const f = r.figures as {
        images: number;
        data: string;
        repeats: number;
        verify: { medianSeconds: number; medianCpuSeconds: number };
        statIndex: { medianSeconds: number; medianCpuSeconds: number };
        cpuSplitSeconds?: { listAndStat: number; sqliteLookups: number };
        shards?: number;
        manifestMB?: number;
      };
      const split = f.cpuSplitSeconds;
      if (split && f.shards && f.manifestMB)
        notes.push(
          `At ${fixed(f.images, 0)} files the re-run's CPU splits roughly into listing and stat'ing the files (~${fixed(split.listAndStat, 1)} s), one SQLite lookup per file (~${fixed(split.sqliteLookups, 1)} s), indexing ${fixed(f.shards, 0)} shards by their stamps, and writing the ${fixed(f.manifestMB, 0)} MB manifest (the manifest's entries have since moved to \`index.sqlite\`).`,
        );
      rows.push([
        `${f.data} (${fixed(f.images, 0)} images), median of ${f.repeats}`,
        `${fixed(f.statIndex.medianCpuSeconds, 2)} CPU s, ${fixed(f.statIndex.medianSeconds, 2)} wall s`,
        `${fixed(f.verify.medianCpuSeconds, 2)} CPU s, ${fixed(f.verify.medianSeconds, 2)} wall s`,
        fixed(f.statIndex.medianCpuSeconds / f.verify.medianCpuSeconds, 2),
      ]);
      sources.push(source(runOf(fileOf(name), r)));
    }
    return [
      table(
        [
          '`cnn-codes extract` again on unchanged data',
          're-run, stat index',
          '`--verify` (reads everything)',
          'CPU ratio',
        ],
        rows,
        ['l', 'r', 'r', 'r'],
      ),
      '',
      ...notes.flatMap((n) => [n, '']),
      ...sources.flatMap((s, i) => (i ? ['', s] : [s])),
    ].join('\n');
  },

  index() {
    const files = readdirSync(RESULTS)
      .filter((f) => /^index(-\d+)?\.json$/.test(f))
      .map((f) => f.slice(0, -'.json'.length))
      .sort();
    const parts: string[] = [];
    for (const name of files) {
      const r = readResult(name);
      type Phase = { seconds: number; rssMiB: number; bytes: number };
      const f = r.figures as {
        n: number;
        k: number;
        variants: Array<{ variant: string; build: Phase; update: Phase; lookup: Phase }>;
      };
      parts.push(
        `${fixed(f.n, 0)} stamps, ${fixed(f.k, 0)} updated; CPU seconds, each phase its own process:`,
        '',
        table(
          ['index', 'build N', `update ${fixed(f.k, 0)} of N`, 'open + look up all N', 'peak RSS MiB', 'size MiB'],
          f.variants.map((v) => [
            v.variant,
            fixed(v.build.seconds, 2),
            fixed(v.update.seconds, 3),
            fixed(v.lookup.seconds, 2),
            fixed(v.lookup.rssMiB, 0),
            fixed(v.lookup.bytes / 2 ** 20, 0),
          ]),
          ['l', 'r', 'r', 'r', 'r', 'r'],
        ),
        '',
        source(runOf(fileOf(name), r)),
        '',
      );
    }
    return parts.join('\n').trimEnd();
  },

  fuzz() {
    const r = readResult('fuzz');
    const rows = (
      (r.figures as Json).results as Array<{
        target: string;
        executions: number;
        seconds: number;
        corpus: number;
        edges: number;
        findings: unknown[];
        startRssMiB: number;
        peakRssMiB: number;
        slowestMs: number;
      }>
    ).map((t) => [
      t.target,
      fixed(t.executions, 0),
      String(t.seconds),
      fixed(t.executions / t.seconds, 0),
      String(t.corpus),
      String(t.edges),
      `${fixed(t.slowestMs, 1)} ms`,
      `${t.startRssMiB} → ${t.peakRssMiB} MiB`,
      String(t.findings.length),
    ]);
    return [
      table(
        [
          'target',
          'executions',
          'seconds',
          'exec/s',
          'corpus',
          'edges',
          'slowest input',
          'RSS start → peak',
          'findings',
        ],
        rows,
        ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'r'],
      ),
      '',
      source(runOf(fileOf('fuzz'), r)),
    ].join('\n');
  },

  hostile() {
    const r = readResult('hostile');
    const f = r.figures as Json;
    const rows = f.rows as Array<{ command: string; exit: number; outcome: string; rssMiB: number; seconds: number }>;
    const outcomes = new Map<string, number>();
    for (const row of rows) {
      const what = row.outcome.startsWith('cnn-codes: error') ? 'an error message naming the file' : row.outcome;
      const kind = `exit ${row.exit}, ${what}`;
      outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
    }
    const worst = f.worstUpTo1MB as { rssMiB: number; seconds: number };
    return [
      table(
        ['runs through the binary', 'outcome'],
        [...outcomes].map(([kind, n]) => [String(n), kind]),
        ['r', 'l'],
      ),
      '',
      `For inputs up to 1 MB: worst peak RSS ${worst.rssMiB} MiB, worst wall time ${fixed(worst.seconds, 1)} s.`,
      '',
      source(runOf(fileOf('hostile'), r)),
    ].join('\n');
  },

  'data-quality'() {
    return perRun(
      (run) => run.labelIssues !== undefined,
      [
        'run',
        'images',
        'planted flips found',
        'leaks flagged',
        'copies grouped',
        'val accuracy',
        'data quality share of the run',
        'peak RSS MiB',
      ],
      (key, run) => {
        const labels = run.labelIssues as { recall: number; topK: number };
        const leak = run.leakage as { flagged: number; planted: number };
        const dup = run.duplicates as { inOneGroup: number; planted: number };
        return [
          key,
          String(run.images),
          `${pct(labels.recall)} (top ${labels.topK})`,
          `${leak.flagged} / ${leak.planted}`,
          `${dup.inOneGroup} / ${dup.planted}`,
          pct(run.valAccuracy),
          run.dataQualityShare === undefined ? '–' : pct(run.dataQualityShare),
          typeof run.peakRssMiB === 'number' ? fixed(run.peakRssMiB, 0) : '–',
        ];
      },
    );
  },

  'near-duplicate-search'() {
    return perRun(
      (run) => run.searchWallSeconds !== undefined,
      ['run', 'codes', 'search wall s', 'search CPU s', 'peak RSS MiB', 'recall vs exact (sample)'],
      (key, run) => [
        key,
        `${fixed(run.rows, 0)} × ${String(run.dim)}`,
        fixed(run.searchWallSeconds, 1),
        fixed(run.searchCpuSeconds, 1),
        fixed(run.peakRssMiB, 0),
        recallOf(run.recall as { sample: number; exactPairs: number; found: number; recall: number }),
      ],
    );
  },

  'cost-inputs'() {
    const r = readResult('cost-inputs');
    const f = r.figures as { images: number; decodeMs: number; inference: Array<{ name: string; ms: number }> };
    const perVcpuHour = (name: string) => {
      const option = PRICE_TABLE.options.find((o) => o.name.startsWith(name) && o.usdPerHour);
      if (!option) throw new Error(`core/report/pricing.ts: no ${name}`);
      return option.usdPerHour! / option.vcpus;
    };
    const ratio = perVcpuHour('g5.xlarge') / perVcpuHour('c7i.large');
    return [
      table(
        ['step, one thread', 'CPU ms / image', '÷ decode'],
        [
          [`decode (JPEG → resize 256 → crop 224, ${f.images} hymenoptera JPEGs)`, fixed(f.decodeMs, 1), times(1)],
          ...f.inference.map((row) => [row.name, fixed(row.ms, 1), times(row.ms / f.decodeMs)]),
        ],
        ['l', 'r', 'r'],
      ),
      '',
      `With a GPU that keeps up with decoding, a GPU instance extracts at its vCPUs' decode rate, a CPU instance at ` +
        `vCPUs × 1000 / (decode + inference) ms. At the prices in core/report/pricing.ts, a g5.xlarge vCPU-hour costs ` +
        `R = ${fixed(ratio, 1)}× a c7i.large one, so the GPU pays for itself when a model's CPU inference exceeds ` +
        `(R − 1) = ${fixed(ratio - 1, 1)}× its decode time.`,
      '',
      source(runOf(fileOf('cost-inputs'), r)),
    ].join('\n');
  },

  cost() {
    const r = readResult('extract');
    const { imagesPerSecond, cpus: cores, set: label } = measuredExtraction();
    const sizes = readFileSync(path.join(REPO_ROOT, 'infra', 'sizes.ts'), 'utf8');
    const deployedMb = Number(/extractLambda:\s*\{\s*memorySize:\s*(\d+)/.exec(sizes)?.[1]);
    if (!deployedMb) throw new Error('infra/sizes.ts: no extractLambda memorySize');
    const lambda = PRICE_TABLE.options.find((o) => o.lambda)!;
    const table_ = {
      ...PRICE_TABLE,
      options: [
        ...PRICE_TABLE.options,
        {
          name: `Lambda x86, ${fixed(deployedMb, 0)} MB (the extract function as deployed, infra/sizes.ts)`,
          vcpus: deployedMb / 1769,
          lambda: { ...lambda.lambda!, memoryGb: deployedMb / 1024 },
        },
      ],
    };
    const estimate = estimateCosts(imagesPerSecond, cores, table_)!;
    return [
      table(
        ['compute', 'vCPUs', 'images/s (scaled)', 'compute $ per 1 M images', 'hours per 1 M on one'],
        estimate.rows.map((row, i) => [
          row.name,
          fixed(table_.options[i]!.vcpus, 2),
          fixed(row.imagesPerSecond, 1),
          `$${fixed(row.usdPer1000 * 1000, 2)}`,
          fixed(1e6 / row.imagesPerSecond / 3600, 1),
        ]),
        ['l', 'r', 'r', 'r', 'r'],
      ),
      '',
      `Scaled from the whole-process extraction rate of bench/extract's ${label} set (${fixed(imagesPerSecond, 1)} images/s on ${cores} vCPUs, decoding included) by \`estimateCosts\` in [core/report/pricing.ts](../core/report/pricing.ts), linearly in vCPUs (Lambda: one vCPU per 1,769 MB); prices from that file (${PRICE_TABLE.region}, ${PRICE_TABLE.asOf}). Compute only: requests, storage and idle time are not in it.`,
      '',
      source(runOf(fileOf('extract'), r), 'node dist/bench/extract.js'),
    ].join('\n');
  },
};

// ---- heads, scale and decode history: result files of long runs (several recorded from committed output) --------

interface Method {
  method: string;
  valAccuracy: number;
  fitSeconds: number;
  cpuSeconds: number;
  notes: string;
  /** What the CPU column counts where it is not the whole process (scikit-learn's parent without its loky workers). */
  cpuCounts?: string;
  /** The CPU ratio as the bench printed it, where the file keeps rounded seconds only. */
  cpuTimesReference?: number;
  /** CPU seconds of the first (cold) round, before V8 optimized the loops. */
  coldFirstRoundCpuSeconds?: number;
}

const isSklearn = (m: Method) => m.method.startsWith('scikit-learn');
const cpuCell = (m: Method, digits = 1) => `${fixed(m.cpuSeconds, digits)}${m.cpuCounts ? ` (${m.cpuCounts})` : ''}`;

/** Our rows against the first scikit-learn row: accuracy, wall and CPU seconds and the wall ratio. */
function methodsTable(methods: Method[], digits = 2): string {
  const ref = methods.find(isSklearn)!;
  return table(
    ['method', 'val accuracy', 'wall s', 'CPU s', 'wall × scikit-learn', 'notes'],
    methods.map((m) => [
      m.method,
      pct(m.valAccuracy, digits),
      fixed(m.fitSeconds, 1),
      cpuCell(m),
      times(m.fitSeconds / ref.fitSeconds),
      m.notes,
    ]),
    ['l', 'r', 'r', 'r', 'r', 'l'],
  );
}

const RECORDED_BLOCKS: Record<string, () => string> = {
  'heads-cv-large'() {
    const r = readResult('heads-cv-large');
    const f = r.figures as {
      rows: number;
      dim: number;
      classes?: number;
      folds: number;
      Cs: number;
      cores: number;
      methods: Method[];
      sklearnWorkers?: { cpuSecondsSeenByPs: number[]; atWallMinutes: number };
    };
    const [ours, sk] = [f.methods.find((m) => !isSklearn(m))!, f.methods.find(isSklearn)!];
    const workers = f.sklearnWorkers
      ? ` \`ps\` showed its ${f.sklearnWorkers.cpuSecondsSeenByPs.length} loky workers at ${f.sklearnWorkers.cpuSecondsSeenByPs.map((s) => `${fixed(s, 0)} s`).join(' and ')} of CPU with the fit still running at ${f.sklearnWorkers.atWallMinutes} minutes, so its CPU was above ${fixed(f.sklearnWorkers.cpuSecondsSeenByPs.reduce((a, b) => a + b, 0) + sk.cpuSeconds, 0)} s against our ${fixed(ours.cpuSeconds, 1)} s for everything.`
      : '';
    return [
      `${fixed(f.rows, 0)} × ${fixed(f.dim, 0)}${f.classes ? ` × ${f.classes}` : ''}, C by ${f.folds}-fold CV over ${f.Cs} Cs on identical folds, ${f.cores} cores a side:`,
      '',
      methodsTable(f.methods),
      '',
      `Val accuracy ${pct(ours.valAccuracy, 2)} against ${pct(sk.valAccuracy, 2)}, **${times(ours.fitSeconds / sk.fitSeconds)} the wall time**.${sk.cpuCounts === 'parent only' ? " scikit-learn's CPU column counts its parent process only, not the workers that fit the folds." : ''}${workers}`,
      '',
      source(runOf(fileOf('heads-cv-large'), r)),
    ].join('\n');
  },

  'heads-train-cli'() {
    const r = readResult('heads-train-cli');
    const f = r.figures as {
      rows: number;
      dim: number;
      methods: Method[];
      handRunBefore?: { wallSeconds: number; cpuSeconds: number; peakRssGB: number };
    };
    const [ours, sk] = [f.methods.find((m) => !isSklearn(m))!, f.methods.find(isSklearn)!];
    const gap = (ours.valAccuracy - sk.valAccuracy) * 100;
    const hand = f.handRunBefore
      ? ` A hand run of the same command a few minutes earlier took ${fixed(f.handRunBefore.wallSeconds, 0)} s wall and ${fixed(f.handRunBefore.cpuSeconds, 1)} s CPU, ${fixed(f.handRunBefore.peakRssGB, 2)} GB peak RSS.`
      : '';
    return [
      `The real binary on ${fixed(f.rows, 0)} × ${f.dim}, C by 5-fold CV, against LogisticRegressionCV on the same folds and grid:`,
      '',
      methodsTable(f.methods),
      '',
      `Val accuracy gap **${gap >= 0 ? '+' : '−'}${fixed(Math.abs(gap), 2)} points** (target ±0.2). Our CV used ${fixed(ours.cpuSeconds, 1)} CPU s in ${fixed(ours.fitSeconds, 1)} s of wall time (${pct(ours.cpuSeconds / ours.fitSeconds, 0)} of one core)${ours.cpuSeconds / ours.fitSeconds < 0.5 ? ' on a loaded machine, so the wall ratio does not separate the engines' : ''}.${hand}`,
      '',
      source(runOf(fileOf('heads-train-cli'), r)),
    ].join('\n');
  },

  'heads-stream'() {
    const r = readResult('heads-stream');
    const f = r.figures as StreamedFit & {
      rows: number;
      dim: number;
      classes: number;
      C: number;
      tiledCopies?: number;
      valRows: number;
      cpuShare?: number;
      limits: { peakRssBytes: number; wallSeconds: number };
    };
    const GB = 1e9;
    const within = (ok: boolean) => (ok ? 'yes' : 'NO');
    return [
      `${fixed(f.rows, 0)} × ${f.dim} × ${f.classes} float32, C = ${f.C}${f.tiledCopies ? `, ${f.tiledCopies} shards linked to one 100k-row file (read from the page cache)` : ''}:`,
      '',
      table(
        ['what', 'figure', 'limit', 'within'],
        [
          [
            'peak RSS',
            `${fixed(f.peakRssBytes / GB, 2)} GB`,
            `${fixed(f.limits.peakRssBytes / GB, 0)} GB`,
            within(f.peakRssBytes < f.limits.peakRssBytes),
          ],
          [
            'wall time',
            `${fixed(f.wallSeconds, 0)} s`,
            `${fixed(f.limits.wallSeconds, 0)} s`,
            within(f.wallSeconds < f.limits.wallSeconds),
          ],
          ['CPU time (all threads)', `${fixed(f.cpuSeconds, 0)} s`, '', ''],
          ['passes over the shards', `${f.passes} (1 for statistics)`, '', ''],
          ['L-BFGS iterations', `${f.iterations}${f.converged ? ', converged (tol 1e-4)' : ', NOT converged'}`, '', ''],
          [`val accuracy (${fixed(f.valRows, 0)} rows)`, pct(f.valAccuracy, 2), '', ''],
        ],
        ['l', 'r', 'r', 'l'],
      ),
      '',
      f.cpuShare === undefined
        ? ''
        : `The process got ${pct(f.cpuShare, 0)} of a CPU on average (GNU time) at that load, hence the wall time; the CPU time is the run's cost.\n`,
      source(runOf(fileOf('heads-stream'), r)),
    ].join('\n');
  },

  'heads-history'() {
    const r = readResult('heads-2026-11-28');
    type Section = { methods: Method[] };
    const f = r.figures as {
      small: Section & {
        codes: string;
        rows: number;
        dim: number;
        valRows: number;
        piecesWarmPerFoldMs: {
          rows: number;
          standardization: number;
          gram: number[];
          pivotedCholesky: number;
          logisticPath8Cs: number;
          lbfgsIterations: number;
        };
      };
      synthetic: Section & { rows: number; dim: number; classes: number; C: number };
    };
    // Seconds as the bench printed them: the small section three decimals below 10 s, the synthetic one a decimal.
    const render = (methods: Method[], digitsOf: (seconds: number) => number) =>
      table(
        ['method', 'val accuracy', 'wall s', 'CPU s', 'CPU × scikit-learn (as printed)', 'notes'],
        methods.map((m) => [
          m.method,
          pct(m.valAccuracy, 1),
          fixed(m.fitSeconds, digitsOf(m.fitSeconds)),
          fixed(m.cpuSeconds, digitsOf(m.cpuSeconds)),
          m.cpuTimesReference === undefined ? '–' : times(m.cpuTimesReference),
          [m.notes, m.coldFirstRoundCpuSeconds && `cold first round ${fixed(m.coldFirstRoundCpuSeconds, 2)} s CPU`]
            .filter(Boolean)
            .join('; '),
        ]),
        ['l', 'r', 'r', 'r', 'r', 'l'],
      );
    const p = f.small.piecesWarmPerFoldMs;
    return [
      `${f.small.codes}; ${f.small.rows} × ${fixed(f.small.dim, 0)} train, ${f.small.valRows} val, one thread a side:`,
      '',
      render(f.small.methods, (x) => (x < 10 ? 3 : 1)),
      '',
      `Pieces, warm, per fold of ${p.rows} rows: standardization ${p.standardization} ms, Gram matrix ${p.gram.join('–')} ms, pivoted Cholesky ${p.pivotedCholesky} ms, the 8-C logistic path ${p.logisticPath8Cs} ms (${p.lbfgsIterations} L-BFGS iterations in total).`,
      '',
      `Synthetic ${fixed(f.synthetic.rows, 0)} × ${f.synthetic.dim} × ${f.synthetic.classes}, one C = ${f.synthetic.C} for every method, one fit each:`,
      '',
      render(f.synthetic.methods, () => 1),
      '',
      source(runOf(fileOf('heads-2026-11-28'), r)),
    ].join('\n');
  },

  'heads-gram'() {
    const r = readResult('heads-gram');
    type Side = { fitSeconds: number; cpuSeconds: number };
    const f = r.figures as {
      rows: number;
      dim: number;
      Cs: number;
      runs: Array<{ gram: string; repeat: number; load: number; ours: Side; lrcv: Side }>;
      profile: { gramShareScalar: number; basisShare: number; standardizerShare: number; gramShareSimd: number };
      gramMs196x1280: { simd: number; scalar: number };
    };
    const pair = (s: Side) => `${fixed(s.fitSeconds, 3)} / ${fixed(s.cpuSeconds, 3)}`;
    return [
      table(
        [
          `per-fold CV (${f.rows} × ${fixed(f.dim, 0)}, ${f.Cs} Cs)`,
          'ours wall / CPU s',
          `LogisticRegressionCV, same ${f.Cs} Cs, wall / CPU s`,
          'wall ×',
          'CPU ×',
        ],
        f.runs.map((run) => [
          `${run.gram} Gram (\`--repeat ${run.repeat}\`, load ${run.load})`,
          pair(run.ours),
          pair(run.lrcv),
          times(run.ours.fitSeconds / run.lrcv.fitSeconds),
          times(run.ours.cpuSeconds / run.lrcv.cpuSeconds),
        ]),
        ['l', 'r', 'r', 'r', 'r'],
      ),
      '',
      `Profile of the per-fold CV before: ${pct(f.profile.gramShareScalar, 0)} in \`gram\`, ${pct(f.profile.basisShare, 0)} in the low-rank basis and the map back to features, ${pct(f.profile.standardizerShare, 0)} in the standardizer; after, \`gram\` takes ${pct(f.profile.gramShareSimd, 0)} (the SIMD kernel: ${fixed(f.gramMs196x1280.simd, 1)} ms against ${fixed(f.gramMs196x1280.scalar, 1)} ms for 196 × 1280 under load).`,
      '',
      source(runOf(fileOf('heads-gram'), r)),
    ].join('\n');
  },

  'train-workspace'() {
    const r = readResult('train-workspace');
    type Point = {
      rows: number;
      peakRssMiB: number;
      wallSeconds: number;
      cpuSeconds: number;
      cv?: { folds: number; Cs: number; passes: number; chosenC: number };
    };
    const f = r.figures as { dim: number; C: number; streamed: Point[]; inMemoryBefore: Point[] };
    const spent = (p: Point) => `${fixed(p.wallSeconds, 1)} s / ${fixed(p.cpuSeconds, 1)} s`;
    return [
      table(
        [
          `train rows × ${f.dim}, C = ${f.C}`,
          'streamed: peak RSS',
          'wall / CPU',
          'in memory (before): peak RSS',
          'wall / CPU',
        ],
        f.streamed.map((p) => {
          const before = p.cv ? undefined : f.inMemoryBefore.find((q) => q.rows === p.rows);
          return [
            p.cv
              ? `${fixed(p.rows, 0)}, \`--cv\` (${p.cv.folds} folds × ${p.cv.Cs} Cs, ${p.cv.passes} passes, chose C = ${p.cv.chosenC})`
              : fixed(p.rows, 0),
            `${fixed(p.peakRssMiB, 0)} MiB`,
            spent(p),
            before ? `${fixed(before.peakRssMiB, 0)} MiB` : '',
            before ? spent(before) : '',
          ];
        }),
        ['l', 'r', 'r', 'r', 'r'],
      ),
      '',
      source(runOf(fileOf('train-workspace'), r)),
    ].join('\n');
  },

  'train-workspace-runs'() {
    const names = readdirSync(RESULTS)
      .filter((f) => /^train-workspace-\d+(-cv)?(-in-memory)?\.json$/.test(f))
      .map((f) => f.slice(0, -'.json'.length))
      .sort((a, b) => Number(a.split('-')[2]) - Number(b.split('-')[2]) || a.localeCompare(b));
    type Run_ = TrainStep & { inMemory: boolean };
    const rows: string[][] = [];
    const sources: string[] = [];
    for (const name of names) {
      const r = readResult(name);
      const f = r.figures as { images: number; dim: number; classes: number; cv: boolean; runs: Run_[] };
      for (const run of f.runs)
        rows.push([
          `${fixed(f.images, 0)} × ${f.dim} × ${f.classes}, ${f.cv ? 'C by 5-fold CV over 8 Cs' : 'one C'}`,
          run.inMemory ? 'in memory' : 'streamed from shards',
          `${fixed(run.peakRssBytes / 2 ** 20, 0)} MiB`,
          `${fixed(run.wallSeconds, 1)} s / ${fixed(run.cpuSeconds, 1)} s`,
          String(run.C),
          run.converged ? 'yes' : 'NO',
        ]);
      sources.push(source(runOf(fileOf(name), r)));
    }
    return [
      table(['train rows × dim × classes', 'path', 'peak RSS', 'wall / CPU', 'C', 'converged'], rows, [
        'l',
        'l',
        'r',
        'r',
        'r',
        'l',
      ]),
      '',
      ...sources.flatMap((line, i) => (i ? ['', line] : [line])),
    ].join('\n');
  },

  scale() {
    const files = readdirSync(RESULTS)
      .filter((f) => /^scale-\d+\.json$/.test(f))
      .map((f) => f.slice(0, -'.json'.length))
      .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)));
    const parts: string[] = [];
    for (const name of files) {
      const r = readResult(name);
      type Phase = { seconds: number; cpuSeconds: number; rssMiB: number };
      type Median = {
        repeats: number;
        medianSeconds: number;
        medianCpuSeconds: number;
        medianRssMiB: number;
        laterRepeatsSeconds?: number[];
      };
      const f = r.figures as {
        n: number;
        kills: number;
        extractWithKills: { seconds: number; rssMiB: number; processes: number };
        lastResume: Phase & { embedded: number };
        extractAgain: Median;
        train: Phase;
        evaluate: Phase;
        runAgain: Median;
        index: Json;
        x4?: { imagesPerSecond: number; imagesPerCpuSecond?: number; rateShare?: number; perCpuShare?: number };
        killTest: { embeddedAgain: number[]; bound: number; identical: boolean; referenceImages: number };
        benchSeconds: number;
      };
      const median = (m: Median) => [fixed(m.medianSeconds, 2), fixed(m.medianCpuSeconds, 2), fixed(m.medianRssMiB, 0)];
      const resumeRate = f.lastResume.embedded / f.lastResume.seconds;
      const i = f.index as Record<string, number>;
      const index =
        i.indexSqliteMiB !== undefined
          ? `\`index.sqlite\` ${fixed(i.indexSqliteMiB, 1)} MiB, \`manifest.json\` ${fixed(i.manifestKiB!, 1)} KiB, shard \`.json\` ${fixed(i.shardJsonMiB!, 1)} MiB beside ${fixed(i.codesMiB!, 0)} MiB of codes in ${fixed(i.shards!, 0)} shards`
          : `\`index.sqlite\` ${fixed(i.indexBytes! / 2 ** 20, 1)} MiB, \`manifest.json\` ${fixed(i.manifestBytes! / 1024, 1)} KiB, shard \`.json\` ${fixed(i.shardJsonBytes! / 2 ** 20, 1)} MiB beside ${fixed(i.npyBytes! / 2 ** 20, 0)} MiB of codes in ${fixed(i.shards!, 0)} shards`;
      const x4 = f.x4
        ? (() => {
            const share = f.x4.rateShare ?? resumeRate / f.x4.imagesPerSecond;
            const perCpu =
              f.x4.perCpuShare ??
              (f.x4.imagesPerCpuSecond
                ? f.lastResume.embedded / f.lastResume.cpuSeconds / f.x4.imagesPerCpuSecond
                : undefined);
            const why = share > 1 ? ': the synthetic images are smaller to decode' : '';
            return ` Extraction ran at ${fixed(resumeRate, 1)} images/s against bench/extract's ×4 hymenoptera set's ${fixed(f.x4.imagesPerSecond, 1)} in the same run (${pct(share, 0)}${perCpu === undefined ? '' : `; ${pct(perCpu, 0)} per CPU second`})${why}.`;
          })()
        : '';
      parts.push(
        `N = ${fixed(f.n, 0)}, ${f.kills} kills (bench ${fixed(f.benchSeconds, 0)} s):`,
        '',
        table(
          ['step', 'wall s', 'CPU s', 'peak RSS MiB', 'notes'],
          [
            [
              `extract, ${f.kills} kills + resumes`,
              fixed(f.extractWithKills.seconds, 1),
              '–',
              fixed(f.extractWithKills.rssMiB, 0),
              `${f.extractWithKills.processes} processes, ${fixed(f.n / f.extractWithKills.seconds, 1)} images/s over all of them`,
            ],
            [
              'extract, last resume alone',
              fixed(f.lastResume.seconds, 1),
              fixed(f.lastResume.cpuSeconds, 1),
              fixed(f.lastResume.rssMiB, 0),
              `${fixed(f.lastResume.embedded, 0)} embedded: ${fixed(resumeRate, 1)} images/s`,
            ],
            [
              `extract again, unchanged (median of ${f.extractAgain.repeats})`,
              ...median(f.extractAgain),
              `no image read${f.extractAgain.laterRepeatsSeconds ? ` (${f.extractAgain.laterRepeatsSeconds.map((s) => fixed(s, 1)).join('–')} s in later repeats)` : ''}`,
            ],
            [
              'train (C by 5-fold CV, streamed from the shards)',
              fixed(f.train.seconds, 1),
              fixed(f.train.cpuSeconds, 1),
              fixed(f.train.rssMiB, 0),
              '',
            ],
            [
              'evaluate (with the data-quality views)',
              fixed(f.evaluate.seconds, 1),
              fixed(f.evaluate.cpuSeconds, 1),
              fixed(f.evaluate.rssMiB, 0),
              '',
            ],
            [
              `\`run\` again, unchanged (median of ${f.runAgain.repeats})`,
              ...median(f.runAgain),
              'head and evaluation kept (target ≤ 2 s)',
            ],
          ],
          ['l', 'r', 'r', 'r', 'l'],
        ),
        '',
        `Kill test: the resumes embedded ${[...new Set(f.killTest.embeddedAgain)].join(', ')} images again each (bound ${f.killTest.bound}); the final codes are ${f.killTest.identical ? 'byte-identical' : 'NOT identical'} to an uninterrupted extraction of a seeded ${fixed(f.killTest.referenceImages, 0)}-image sample.${x4} Index: ${index}.`,
        '',
        source(runOf(fileOf(name), r)),
        '',
      );
    }
    return parts.join('\n').trimEnd();
  },

  'duplicate-threshold'() {
    const r = readResult('duplicate-threshold');
    type Quantiles = Record<'pairs' | 'min' | 'p1' | 'p5' | 'median' | 'p95' | 'p99' | 'max', number>;
    const f = r.figures as {
      layer: string;
      centred: boolean;
      images: number;
      plantedCopies: number;
      copyToOriginal: Quantiles;
      nearestOther: Quantiles;
      chosen: number;
      sweep: Array<{ threshold: number; copiesMissed: number; distinctFlagged: number }>;
    };
    const row = (name: string, x: Quantiles) => [
      name,
      fixed(x.pairs, 0),
      ...(['min', 'p1', 'p5', 'median', 'p95', 'p99', 'max'] as const).map((k) => fixed(x[k], 3)),
    ];
    const bold = (chosen: boolean, text: string) => (chosen ? `**${text}**` : text);
    return [
      table(
        [
          `cosine of ${f.layer} codes${f.centred ? ' (centred)' : ''}`,
          'pairs',
          'min',
          '1 %',
          '5 %',
          'median',
          '95 %',
          '99 %',
          'max',
        ],
        [
          row('copy vs its original', f.copyToOriginal),
          row('image vs its most similar *different* image', f.nearestOther),
        ],
        ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
      table(
        [
          'threshold',
          `copies missed (of ${fixed(f.copyToOriginal.pairs, 0)})`,
          `distinct images joined (of ${fixed(f.nearestOther.pairs, 0)})`,
        ],
        f.sweep.map((s) => {
          const chosen = s.threshold === f.chosen;
          return [
            bold(chosen, fixed(s.threshold, 2)),
            fixed(s.copiesMissed, 0),
            bold(chosen, fixed(s.distinctFlagged, 0)),
          ];
        }),
        ['r', 'r', 'r'],
      ),
      '',
      `${fixed(f.images, 0)} images, ${fixed(f.plantedCopies, 0)} of them planted copies; the threshold in bold is \`NEAR_DUPLICATE_COSINE\` (core/quality/duplicates.ts).`,
      '',
      source(runOf(fileOf('duplicate-threshold'), r)),
    ].join('\n');
  },

  calibration() {
    const r = readResult('rerun');
    type Scored = { ece: number; logLoss: number | null };
    const f = r.figures as {
      data: string;
      first: {
        val: { accuracy: number; n: number };
        calibration: { C: number; temperature: number; rows: number; before: Scored; after: Scored };
      };
    };
    const { val, calibration: c } = f.first;
    const logLoss = (x: number | null) => (x === null ? '–' : fixed(x, 4));
    return [
      table(
        [`${f.data} val (${fixed(val.n, 0)} images), \`cnn-codes run\``, 'ECE', 'log-loss', 'accuracy'],
        [
          [
            `before (C = ${c.C}, the head's own probabilities)`,
            pct(c.before.ece),
            logLoss(c.before.logLoss),
            pct(val.accuracy),
          ],
          [
            `after (T = ${fixed(c.temperature, 3)}, fitted on ${fixed(c.rows, 0)} out-of-fold train rows)`,
            pct(c.after.ece),
            logLoss(c.after.logLoss),
            pct(val.accuracy),
          ],
        ],
        ['l', 'r', 'r', 'r'],
      ),
      '',
      source(runOf(fileOf('rerun'), r)),
    ].join('\n');
  },

  tta() {
    const r = readResult('tta');
    type Row = {
      data: string;
      tta: 'none' | 'flip';
      cv: { meanAccuracy: number; stdAccuracy: number };
      C: number;
      val: number;
      extractSeconds: number;
    };
    const { rows } = r.figures as { rows: Row[] };
    const points = (x: number) => `${x >= 0 ? '+' : '−'}${fixed(Math.abs(x) * 100, 1)}`;
    const pairs = [...new Set(rows.map((row) => row.data))].map((data) => {
      const [plain, flip] = (['none', 'flip'] as const).map((t) =>
        rows.find((row) => row.data === data && row.tta === t)!,
      );
      return { data, plain: plain!, flip: flip! };
    });
    const each = (what: (p: (typeof pairs)[number]) => string) =>
      pairs.map((p) => `${what(p)} on ${p.data}`).join(', ');
    return [
      table(
        ['data', 'codes', 'CV accuracy on train (± std)', 'chosen C', 'val accuracy', 'extraction s'],
        rows.map((row) => [
          row.data,
          row.tta === 'flip' ? 'mean of image + mirror' : 'image',
          `${pct(row.cv.meanAccuracy)} ± ${pct(row.cv.stdAccuracy)}`,
          String(row.C),
          pct(row.val),
          fixed(row.extractSeconds, 1),
        ]),
        ['l', 'l', 'r', 'r', 'r', 'r'],
      ),
      '',
      `Flip against plain codes: CV ${each((p) => `${points(p.flip.cv.meanAccuracy - p.plain.cv.meanAccuracy)} points (fold-to-fold std ${fixed(p.plain.cv.stdAccuracy * 100, 1)})`)}; val ${each((p) => `${points(p.flip.val - p.plain.val)} points`)}; extraction time ${each((p) => `×${fixed(p.flip.extractSeconds / p.plain.extractSeconds, 1)}`)}.`,
      '',
      source(runOf(fileOf('tta'), r)),
    ].join('\n');
  },

  'gpu-fidelity'() {
    const r = readResult('gpu-fidelity');
    type Variant = { precision: string; activations: string };
    const f = r.figures as {
      cpuSeconds: number;
      rows: Array<{
        model: string;
        variant: 'int8' | 'int8, 10 input bytes +1' | Variant;
        chosen: boolean;
        images: number;
        medianCosine: number;
        minCosine: number;
        valCorrect: number | null;
      }>;
    };
    const images = f.rows[0]!.images;
    const name = (v: (typeof f.rows)[number]['variant']) =>
      v === 'int8'
        ? 'int8 graph (reference)'
        : v === 'int8, 10 input bytes +1'
          ? 'int8 graph, 10 input bytes one step up'
          : `${v.precision}, ${v.activations}`;
    return [
      table(
        ['model', 'variant', 'median cosine', 'min cosine', `val correct (of ${images})`],
        f.rows.map((row, i) => {
          const b = (text: string) => (row.chosen ? `**${text}**` : text);
          return [
            i > 0 && f.rows[i - 1]!.model === row.model ? '' : row.model,
            b(`${name(row.variant)}${row.chosen ? ' (chosen)' : ''}`),
            b(fixed(row.medianCosine, 4)),
            b(fixed(row.minCosine, 4)),
            row.valCorrect === null ? '–' : b(fixed(row.valCorrect, 0)),
          ];
        }),
        ['l', 'l', 'r', 'r', 'r'],
      ),
      '',
      `${fixed(f.cpuSeconds, 0)} s of CPU for the ${new Set(f.rows.map((row) => row.model)).size} models; "chosen" is each descriptor's GPU variant (\`cudaVariant\`, core/models/targets.ts).`,
      '',
      source(runOf(fileOf('gpu-fidelity'), r)),
    ].join('\n');
  },

  'schema-library'() {
    const r = readResult('schema-library');
    type Candidate = { bundleBytes: number; bundleGzipBytes: number; coldImportMs: number; parseMicroseconds: number };
    const f = r.figures as Record<string, Candidate>;
    const m = r.message as { items: number; jsonBytes: number };
    const versions = r.versions as Record<string, string>;
    return [
      table(
        [
          'library (the same extract message schema)',
          'bundle bytes (minified)',
          'gzipped',
          'cold import ms (median)',
          `µs per parse of a ${fixed(m.items, 0)}-item message`,
        ],
        Object.entries(f).map(([name, c]) => [
          `${name}${versions[name.split('-')[0]!] ? ` ${versions[name.split('-')[0]!]}` : ''}`,
          fixed(c.bundleBytes, 0),
          fixed(c.bundleGzipBytes, 0),
          fixed(c.coldImportMs, 2),
          fixed(c.parseMicroseconds, 1),
        ]),
        ['l', 'r', 'r', 'r', 'r'],
      ),
      '',
      `Medians of ${fixed(r.rounds as number, 0)} alternated rounds; each parse figure is over ${fixed(r.parses as number, 0)} parses of a ${fixed(m.jsonBytes / 1024, 1)} KiB message.`,
      '',
      source(runOf(fileOf('schema-library'), r), 'node dist/bench/schema-library.js'),
    ].join('\n');
  },

  'evaluate-100000'() {
    const r = readResult('evaluate-100000');
    type Run_ = { wallSeconds: number; cpuSeconds: number; peakRssMiB: number };
    const f = r.figures as {
      rows: number;
      streamedBlocks: Run_;
      heldEveryCode: Run_;
      readAheadSlowdown: Array<[number, number]>;
      outputsByteIdentical: boolean;
    };
    const row = (label: string, x: Run_) => [
      label,
      fixed(x.wallSeconds, 1),
      fixed(x.cpuSeconds, 1),
      fixed(x.peakRssMiB, 0),
    ];
    return [
      table(
        [`\`cnn-codes evaluate\`, ${fixed(f.rows, 0)} images`, 'wall s', 'CPU s', 'peak RSS MiB'],
        [
          row('train codes streamed in blocks', f.streamedBlocks),
          row('every code held (the build before)', f.heldEveryCode),
        ],
        ['l', 'r', 'r', 'r'],
      ),
      '',
      `Outputs ${f.outputsByteIdentical ? 'byte-identical' : 'differ'}. Reading the next block ahead beside the GEMMs made it slower: ${f.readAheadSlowdown.map(([a, b]) => `${fixed(a, 1)} s against ${fixed(b, 1)} s`).join(', ')}.`,
      '',
      source(runOf(fileOf('evaluate-100000'), r)),
    ].join('\n');
  },

  'run-again-100000'() {
    const r = readResult('run-again-100000');
    type Side = { medianSeconds: number; medianCpuSeconds: number };
    const f = r.figures as {
      images: number;
      train: number;
      val: number;
      shards: number;
      repeats: number;
      after: Side;
      before: Side;
      profileSeconds: Record<string, number>;
    };
    const p = f.profileSeconds;
    return [
      table(
        [
          `\`cnn-codes run\` again, unchanged ${fixed(f.images, 0)} images (${fixed(f.train, 0)} train, ${fixed(f.val, 0)} val, ${fixed(f.shards, 0)} shards), median of ${f.repeats}`,
          'wall s',
          'CPU s',
        ],
        [
          [
            'one ordered stamp pass, manifest entries in `index.sqlite`',
            fixed(f.after.medianSeconds, 2),
            fixed(f.after.medianCpuSeconds, 2),
          ],
          ['the build before (alternated)', fixed(f.before.medianSeconds, 2), fixed(f.before.medianCpuSeconds, 2)],
        ],
        ['l', 'r', 'r'],
      ),
      '',
      `What is left is mostly the file system: stat'ing the images and shard files (~${p.statImagesAndShards} s), \`access\` per image (~${p.accessPerImage} s), readdir (~${p.readdir} s) and the collector (~${p.collector} s).`,
      '',
      source(runOf(fileOf('run-again-100000'), r)),
    ].join('\n');
  },
};

/**
 * The decode bench's earlier runs, one block each (docs/benchmarks.md's history puts its reading of each run beside
 * it): two are the bench's own output kept from decode.json's history, one was transcribed from committed output.
 */
const DECODE_RUNS: Array<[string, string]> = [
  ['decode-d5df3b5', 'node dist/bench/decode.js --large 2 --rounds 2 --only "SIMD,cnn-codes,napi,in JS"'],
  ['decode-679269c', 'node dist/bench/decode.js --large 4 --rounds 2'],
  ['decode-2026-12-02', 'node dist/bench/decode.js --large 6 --rounds 1'],
];

function decodeRun(name: string, command: string): string {
  type Row = {
    name: string;
    decodeMs?: number | null;
    pipelineMs: number;
    twoCoreRate: number;
    meanAbs?: number;
    bias?: number;
    timesPil?: number;
  };
  const r = readResult(name);
  const sets = ((r.figures as Json | undefined)?.sets ?? r.sets) as Record<
    string,
    { pil: Record<string, number> | Row; rows: Row[] }
  >;
  const num = (x: number | null | undefined, digits: number) => (typeof x === 'number' ? fixed(x, digits) : '–');
  const parts: string[] = [];
  for (const [set, v] of Object.entries(sets)) {
    // A bench output keeps PIL's timings by step; a recorded file keeps its printed row.
    const pil: Row =
      'name' in v.pil
        ? (v.pil as Row)
        : {
            name: 'PIL + torchvision (baseline, bench/decode_pil.py)',
            decodeMs: (v.pil as Record<string, number>)['decode@1'],
            pipelineMs: (v.pil as Record<string, number>)['decode+resize+crop@1']!,
            twoCoreRate: 1000 / (v.pil as Record<string, number>)['decode+resize+crop@2']!,
            meanAbs: 0,
            bias: 0,
          };
    parts.push(
      `${set}:`,
      '',
      table(
        [
          'path',
          'decode, CPU ms/image',
          'decode → crop, CPU ms/image',
          'images/s on 2 cores (wall)',
          '× PIL (CPU per image)',
          'mean abs Δ vs torchvision (levels)',
          'mean Δ (bias)',
        ],
        [pil, ...v.rows].map((row) => [
          row.name,
          num(row.decodeMs, 2),
          fixed(row.pipelineMs, 2),
          fixed(row.twoCoreRate, 0),
          fixed(row === pil ? 1 : (row.timesPil ?? pil.pipelineMs / row.pipelineMs), 2),
          num(row.meanAbs, 3),
          num(row.bias, 3),
        ]),
        ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
    );
  }
  parts.push(source(runOf(fileOf(name), r), command));
  return parts.join('\n');
}

const DECODE_HISTORY_BLOCKS: Record<string, () => string> = Object.fromEntries(
  DECODE_RUNS.map(([name, command]) => [name, () => decodeRun(name, command)]),
);

// ---- data quality: the views on cached codes, and runs kept from the result file's history -------------------------

type DqRun = Json & {
  leakage: { planted: number; flagged: number; recall: number; unplanted: number };
  duplicates: { planted: number; inOneGroup: number; recall: number; largestGroup: number; groupedFolds?: boolean };
};

/** `flagged/planted`, bold when every plant was found. */
const ofPlanted = (found: number, planted: number): string =>
  found === planted ? `**${found}/${planted}**` : `${found}/${planted}`;

/** The views rerun on a cached workspace (`--views-only`): codes alone against codes + image signatures. */
function dataQualityViews(): string {
  const file = fileOf('data-quality');
  const all = readResult('data-quality').runs as Record<string, DqRun>;
  const columns: Array<[string, string]> = [
    ['6,000: codes ≥ 0.88', '6000-128-256px: views, codes only'],
    ['6,000: codes + image', '6000-128-256px: views'],
    ['100,000: codes ≥ 0.88 (full run)', '100000-128-256px, codes only (before image signatures)'],
    ['100,000: codes + image', '100000-128-256px: views'],
  ];
  const runs = columns.map(([, key]): [string, DqRun] => {
    const run = all[key];
    if (!run) throw new Error(`${file} has no run "${key}"`);
    return [key, run];
  });
  // A full run's peak is the whole run's, not the views'; only a --views-only run measures the views alone.
  const viewsOnly = (run: DqRun) => typeof run.workspace === 'string';
  const signatureSeconds = (run: DqRun) => {
    const views = run.views as Record<string, { cpuSeconds?: number } | number> | undefined;
    const step = Object.entries(views ?? {}).find(([name]) => name.startsWith('train: image signatures'))?.[1];
    return typeof step === 'object' && typeof step.cpuSeconds === 'number' ? fixed(step.cpuSeconds, 0) : '–';
  };
  const row = (name: string, f: (run: DqRun) => string) => [name, ...runs.map(([, run]) => f(run))];
  return [
    table(
      ['views on the cached codes (128–256 px)', ...columns.map(([label]) => label)],
      [
        row('planted leaks flagged with their original', (r) => ofPlanted(r.leakage.flagged, r.leakage.planted)),
        row("planted duplicates in their original's group", (r) =>
          ofPlanted(r.duplicates.inOneGroup, r.duplicates.planted),
        ),
        row('other val images flagged as leakage', (r) => fixed(r.leakage.unplanted, 0)),
        row('largest train duplicate group', (r) => fixed(r.duplicates.largestGroup, 0)),
        row('signatures of the train images (CPU s)', signatureSeconds),
        row('peak RSS of the views (MiB)', (r) => (viewsOnly(r) ? fixed(r.peakRssMiB, 0) : '–')),
      ],
      ['l', 'r', 'r', 'r', 'r'],
    ),
    '',
    `Source: [${file}](../${file}), one entry per run:`,
    '',
    ...runLines(file, runs),
  ].join('\n');
}

/** Column labels of the runs kept in bench/results/data-quality-246e55e.json (what each generated). */
const KEPT_DQ_RUNS: Array<[string, string]> = [
  ['6000-128px', '6,000 images, 128–256 px'],
  ['6000', '6,000 images, 224–448 px'],
  ['codes-100000', '100,000 synthetic codes (no images)'],
];

/** Three bench runs side by side, as the bench wrote them before its result file was rewritten (see keptFrom). */
function dataQualityKept(): string {
  type Phase = { wallSeconds: number; cpuSeconds: number; peakRssMiB: number };
  type Kept = DqRun & {
    train: number;
    planted: { flips: number };
    labelIssues: { topK: number; caught: number; recall: number };
    calibration: { temperature: number; valEce: [number, number] };
    phases: Record<'extract' | 'train' | 'evaluate', Phase>;
    views: Record<string, number>;
    extraction?: string;
  };
  const name = 'data-quality-246e55e';
  const file = fileOf(name);
  const r = readResult(name);
  const kept = r.keptFrom as { file: string; commit: string; committed: string; note: string };
  const all = r.runs as Record<string, Kept>;
  const runs = KEPT_DQ_RUNS.map(([key]): [string, Kept] => [key, all[key]!]);
  const row = (label: string, f: (run: Kept) => string) => [label, ...runs.map(([, run]) => f(run))];
  const phase = (step: 'extract' | 'train' | 'evaluate') => (run: Kept) => {
    const p = run.phases[step];
    if (step === 'extract' && run.extraction) return `not run (est. ${fixed(p.wallSeconds, 0)} s)`;
    return `${fixed(p.wallSeconds, 0)} / ${fixed(p.cpuSeconds, 0)}, ${fixed(p.peakRssMiB, 0)} MiB`;
  };
  const views = Object.keys(runs[0]![1].views);
  return [
    table(
      ['`node dist/bench/data-quality.js …`', ...KEPT_DQ_RUNS.map(([, label]) => label)],
      [
        row('train images / planted flips', (x) => `${fixed(x.train, 0)} / ${fixed(x.planted.flips, 0)}`),
        row(
          'flips among the top-k label issues (k = flips)',
          (x) => `**${pct(x.labelIssues.recall)}** (${fixed(x.labelIssues.caught, 0)})`,
        ),
        row('planted leaks flagged with their original', (x) => `**${x.leakage.flagged}/${x.leakage.planted}**`),
        row('other val images flagged as leakage', (x) => fixed(x.leakage.unplanted, 0)),
        row(
          "planted train copies in their original's group (folds grouped)",
          (x) => `**${x.duplicates.inOneGroup}/${x.duplicates.planted}** (${x.duplicates.groupedFolds ? 'yes' : 'no'})`,
        ),
        row('largest duplicate group', (x) => fixed(x.duplicates.largestGroup, 0)),
        row(
          'temperature; val ECE before → after',
          (x) =>
            `${fixed(x.calibration.temperature, 2)}; ${pct(x.calibration.valEce[0])} → ${pct(x.calibration.valEce[1])}`,
        ),
        row('val accuracy', (x) => pct(x.valAccuracy)),
        row('extract: wall / CPU s, peak RSS', phase('extract')),
        row('train: wall / CPU s, peak RSS', phase('train')),
        row('evaluate: wall / CPU s, peak RSS', phase('evaluate')),
        ...views.map((view) => row(`${view} (wall s)`, (x) => fixed(x.views[view], 0))),
        row('data quality (search + evaluate view) / run, wall', (x) => pct(x.dataQualityShare)),
        row('load average before → after', (x) => runOf(file, x).load),
      ],
      ['l', 'r', 'r', 'r'],
    ),
    '',
    `Source: [${file}](../${file}), the bench's own output kept from ${kept.file} at commit ${kept.commit} ` +
      `(${utc(kept.committed)}). ${kept.note} One entry per run:`,
    '',
    ...runLines(file, runs),
  ].join('\n');
}

// ---- serverless: bench/serverless-scale and bench/serverless-emulator ----------------------------------------------

/** A number, or – where a result file of an older shape lacks it. */
const maybe = (x: unknown, digits: number): string =>
  typeof x === 'number' && Number.isFinite(x) ? fixed(x, digits) : '–';
const counts = (byKey: Record<string, number> | undefined, digits = 0): string =>
  Object.entries(byKey ?? {})
    .map(([k, v]) => `${k} ${fixed(v, digits)}`)
    .join(', ');

/** What a page shows where a bench has not yet written its result file on this tree. */
function notYetMeasured(name: string, command: string): string {
  return (
    `Not measured on this tree yet: \`${command}\` writes \`bench/results/${name}.json\`, ` +
    'and `npm run docs` then renders its figures here.'
  );
}

/** Reads bench/results/<name>.json, or undefined where the bench has not written it. */
function readIfPresent(name: string): Json | undefined {
  return existsSync(path.join(RESULTS, `${name}.json`)) ? readResult(name) : undefined;
}

/** One run's figures as bench/serverless-scale's `measureRun` returns them; the optional ones came later. */
interface ScaleRun {
  shards: number;
  shardSize: number;
  seconds: number;
  s3PerImage: number;
  s3: Record<string, number>;
  lists: number;
  sqsRequests: number;
  joinLatencyMs: number;
  trainReadSeconds: number;
  trainGets: number;
  sizing?: string;
  knownContent?: number;
  datasetGets?: number;
  shardStarts?: Record<string, number>;
  oddEvents?: Record<string, number>;
  engineEvents?: Record<string, number>;
}

interface ScaleReport {
  images: number;
  workers: number;
  notify?: boolean;
  uploadSeconds: number;
  first: ScaleRun;
  second: ScaleRun;
  cost?: {
    requestsUsd: number;
    options: Array<{ name: string; computeUsd: number; totalUsd: number; hours: number }>;
    assumption?: string;
  };
}

const SCALE_COMMAND = 'node dist/bench/serverless-scale.js --images 50000';

/**
 * bench/serverless-scale's report (the `figures` of its result file): both runs side by side, the planner's sizing,
 * the cost per million images from the first run's request counts, and where the figures come from. A field an older
 * result file lacks renders as –; no file at all renders as a note saying how to make it.
 */
export function renderServerlessScale(r: Json | undefined, file: string): string {
  if (!r) return notYetMeasured('serverless-scale', SCALE_COMMAND);
  const f = r.figures as ScaleReport;
  const row = (name: string, cellOf: (x: ScaleRun) => string) => [name, cellOf(f.first), cellOf(f.second)];
  const starts = (x: ScaleRun) => {
    if (!x.shardStarts) return '–';
    const n = Object.values(x.shardStarts);
    return `${fixed(
      n.reduce((a, b) => a + b, 0),
      0,
    )} (${n.filter((k) => k > 1).length})`;
  };
  const engine = (x: ScaleRun) =>
    x.engineEvents
      ? ['TaskScheduled', 'TaskTimedOut', 'TaskFailed'].map((k) => fixed(x.engineEvents![k] ?? 0, 0)).join(', ')
      : '–';
  const parts = [
    `${fixed(f.images, 0)} objects, ${f.workers} worker processes${f.notify ? ', incremental mode (`--notify`)' : ''}; ` +
      `upload ${fixed(f.uploadSeconds, 1)} s (not counted).`,
    '',
    table(
      ['', 'first run', 'second run, same objects'],
      [
        row('shards × size (planner, CPU worker)', (x) => `${fixed(x.shards, 0)} × ${fixed(x.shardSize, 0)}`),
        row(
          'run sent → train message',
          (x) => `${fixed(x.seconds, 1)} s (${fixed(f.images / x.seconds, 0)} images/s through moto)`,
        ),
        row('S3 requests per image, worker side', (x) => `${fixed(x.s3PerImage, 3)} (${counts(x.s3)})`),
        row('items known from the listing (ETag/size)', (x) => maybe(x.knownContent, 0)),
        row('dataset GETs', (x) => maybe(x.datasetGets, 0)),
        row('LIST (≤ 2 × shards + 10)', (x) => `${fixed(x.lists, 0)} (≤ ${fixed(2 * x.shards + 10, 0)})`),
        row('SQS requests', (x) => fixed(x.sqsRequests, 0)),
        row('join latency (last part written → train message sent)', (x) => `${fixed(x.joinLatencyMs, 0)} ms`),
        row('shard extractions started (shards started twice)', starts),
        row('other worker events', (x) => (x.oddEvents ? cell(counts(x.oddEvents)) || 'none' : '–')),
        row('engine: tasks scheduled, timed out, failed', engine),
        row(
          'train read: manifest from the parts + all codes',
          (x) => `${fixed(x.trainReadSeconds, 2)} s, ${fixed(x.trainGets, 0)} GETs`,
        ),
      ],
    ),
    '',
    ...(['first', 'second'] as const).flatMap((run) =>
      f[run].sizing ? [`Sizing, ${run} run: ${cell(f[run].sizing!)}.`, ''] : [],
    ),
  ];
  if (f.cost) {
    const requests = `$${fixed(f.cost.requestsUsd, 2)}`;
    parts.push(
      `Cost per 1 M images, requests from the first run's counts (${requests}):`,
      '',
      table(
        ['option', 'compute', 'requests', 'total', 'hours on one instance'],
        f.cost.options.map((o) => [
          o.name,
          `$${fixed(o.computeUsd, 2)}`,
          requests,
          `$${fixed(o.totalUsd, 2)}`,
          fixed(o.hours, 1),
        ]),
        ['l', 'r', 'r', 'r', 'r'],
      ),
      '',
      ...(f.cost.assumption ? [f.cost.assumption, ''] : []),
    );
  }
  parts.push(source(runOf(file, r)));
  return parts.join('\n');
}

/** bench/serverless-emulator's report (the `figures` of its result file); optional fields came later or may be null. */
interface EmulatorReport {
  images: number;
  distinctImages?: number;
  embedded: { onUpload: number; byRunShards: number; twice: number };
  s3PerImage: number;
  s3PerImageByVerb?: Record<string, number>;
  s3ByArea?: Record<string, Record<string, number>>;
  lists: { count: number; budget: number; shards?: number };
  ingest: { batches: number; imagesPerSecondWhileBusy: number; vsLocalExtraction?: number | null };
  local: { runSeconds: number; extractImagesPerSecond?: number | null; cpuSeconds?: number };
  uploadSeconds: number;
  totalSeconds: number;
  targetSeconds: number;
  /** One figure per worker process, as the bench writes it (an older shape wrote their sum). */
  workerCpuSeconds?: number | number[];
  motoCpuSeconds?: number;
  sqsRequests?: number;
  accuracy?: number;
}

/** Issue 13's targets for the 3,000-image scenario (each checked against the report below its table). */
const EMULATOR_TARGETS = { s3PerImage: 1.2, ingestVsLocal: 0.5 };

const EMULATOR_COMMAND = 'node dist/bench/serverless-emulator.js --images 3000';

/** bench/serverless-emulator's report: the 3,000-image scenario with the real model, each figure against its target. */
export function renderServerlessEmulator(r: Json | undefined, file: string): string {
  if (!r) return notYetMeasured('serverless-emulator', EMULATOR_COMMAND);
  const f = r.figures as EmulatorReport;
  const met = (ok: boolean | undefined) => (ok === undefined ? '–' : ok ? '**met**' : '**not met**');
  const datasetGets = f.s3ByArea?.datasets?.GET;
  const vsLocal = f.ingest.vsLocalExtraction;
  const rows: string[][] = [
    [
      'images embedded',
      `${fixed(f.embedded.onUpload, 0)} on upload, ${fixed(f.embedded.byRunShards, 0)} by the run, **${fixed(f.embedded.twice, 0)} twice**`,
      `each once: ${met(f.embedded.twice === 0)}`,
    ],
    [
      'worker-side S3 requests per image',
      `**${fixed(f.s3PerImage, 2)}**` +
        (f.s3PerImageByVerb ? ` (${counts(f.s3PerImageByVerb, 3)})` : '') +
        (datasetGets === undefined ? '' : `; dataset GETs ${fixed(datasetGets, 0)}`),
      `≤ ${EMULATOR_TARGETS.s3PerImage}: ${met(f.s3PerImage <= EMULATOR_TARGETS.s3PerImage)}`,
    ],
    ['run shards (planner)', maybe(f.lists.shards, 0), ''],
    ['ingest batches', fixed(f.ingest.batches, 0), ''],
    [
      'LIST',
      fixed(f.lists.count, 0),
      `≤ 2 × shards + 10 = ${fixed(f.lists.budget, 0)}: ${met(f.lists.count <= f.lists.budget)}`,
    ],
    [
      'ingest, images/s while busy vs local extraction',
      `${fixed(f.ingest.imagesPerSecondWhileBusy, 1)} vs ${maybe(f.local.extractImagesPerSecond, 1)}` +
        (typeof vsLocal === 'number' ? ` (${pct(vsLocal, 0)})` : ''),
      `≥ ${pct(EMULATOR_TARGETS.ingestVsLocal, 0)}: ${met(typeof vsLocal === 'number' ? vsLocal >= EMULATOR_TARGETS.ingestVsLocal : undefined)}`,
    ],
    ['local `cnn-codes run`', `${fixed(f.local.runSeconds, 1)} s`, ''],
    ['upload', `${fixed(f.uploadSeconds, 1)} s`, ''],
    [
      'upload start → metrics.json',
      `${fixed(f.totalSeconds, 1)} s`,
      `≤ 2 × local + upload = ${fixed(f.targetSeconds, 1)} s: ${met(f.totalSeconds <= f.targetSeconds)}`,
    ],
    [
      'CPU seconds: workers / moto',
      `${maybe(Array.isArray(f.workerCpuSeconds) ? f.workerCpuSeconds.reduce((a, b) => a + b, 0) : f.workerCpuSeconds, 1)} / ${maybe(f.motoCpuSeconds, 1)}`,
      '',
    ],
    ['SQS requests', maybe(f.sqsRequests, 0), ''],
    ['val accuracy', typeof f.accuracy === 'number' ? pct(f.accuracy) : '–', ''],
  ];
  const distinct = typeof f.distinctImages === 'number' ? ` (${fixed(f.distinctImages, 0)} distinct)` : '';
  return [table(['', `${fixed(f.images, 0)} images${distinct}`, 'target'], rows), '', source(runOf(file, r))].join(
    '\n',
  );
}

// ---- IAM: each needed grant removed in turn (scripts/iam-grant-removal.sh) -----------------------------------------

/** docs/iam.md's grant-removal table: the table the script writes, as it wrote it, with where it comes from. */
function renderGrantRemoval(): string {
  const file = 'bench/results/iam-grant-removal.md';
  return [
    readFileSync(path.join(REPO_ROOT, file), 'utf8').trimEnd(),
    '',
    `Source: [${file}](../${file}), written by \`bash scripts/iam-grant-removal.sh\` (about 6 minutes; the script ` +
      'writes the table alone, with no commit, date or load: `git log` on the file says when it was last run, and ' +
      'the seconds are wall time on a shared machine).',
  ].join('\n');
}

// ---- generated references -----------------------------------------------------------------------------------------

/** docs/cli.md's body: every command's synopsis, summary, flags (the FlagDocs `--help` prints) and example. */
function renderCli(): string {
  const parts = [`${COMMANDS.length} commands: ${COMMANDS.map((c) => `[\`${c.name}\`](#${c.name})`).join(', ')}.`, ''];
  for (const command of COMMANDS) {
    const rows = Object.entries({ ...command.options, ...COMMON_OPTIONS }).map(([name, spec]) => {
      const doc = flagDoc(command, name);
      const flag = `${spec.short ? `\`-${spec.short}\`, ` : ''}\`--${name}${doc.arg ? ` ${doc.arg}` : ''}\``;
      const repeat = spec.multiple && !doc.text.includes('repeatable') ? ' (repeatable)' : '';
      return [cell(flag), cell(`${doc.text}${repeat}`)];
    });
    parts.push(
      `## ${command.name}`,
      '',
      command.summary,
      '',
      '```',
      `cnn-codes ${command.usage}`,
      '```',
      '',
      table(['flag', 'meaning'], rows),
      '',
      `Example: \`${command.example}\``,
      '',
    );
  }
  return parts.join('\n').trimEnd();
}

/** A declaration's doc comment (`/** … *\/` just above it), as one line. */
function docComment(node: ts.Node, text: string): string {
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  const docs = ranges
    .map((r) => text.slice(r.pos, r.end))
    .filter((c) => c.startsWith('/**'))
    .map((c) =>
      c
        .replace(/^\/\*\*|\*\/$/g, '')
        .split('\n')
        .map((l) => l.replace(/^\s*\*\s?/, '').trim())
        .join(' ')
        .trim(),
    );
  return docs.join(' ');
}

function parse(file: string): { source: ts.SourceFile; text: string } {
  const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
  return { source: ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true), text };
}

function objectLiteralOf(node: ts.Expression | undefined): ts.ObjectLiteralExpression | undefined {
  let n = node;
  while (n && (ts.isAsExpression(n) || ts.isSatisfiesExpression(n) || ts.isParenthesizedExpression(n)))
    n = n.expression;
  return n && ts.isObjectLiteralExpression(n) ? n : undefined;
}

function variable(source: ts.SourceFile, name: string): ts.VariableDeclaration {
  let found: ts.VariableDeclaration | undefined;
  source.forEachChild(function visit(node) {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === name) found = node;
    node.forEachChild(visit);
  });
  if (!found) throw new Error(`${source.fileName}: no declaration of ${name}`);
  return found;
}

/** Every environment variable of ENV with the doc comment of its entry (or of its group, for the queue URLs). */
function environmentRows(): string[][] {
  const { source, text } = parse('contracts/cross-process.ts');
  const rows: string[][] = [];
  const walk = (object: ts.ObjectLiteralExpression, keyPath: string[], inherited: string) => {
    for (const property of object.properties) {
      if (!ts.isPropertyAssignment(property)) continue;
      const key = property.name.getText(source);
      const doc = docComment(property, text) || inherited;
      const nested = objectLiteralOf(property.initializer);
      if (nested) walk(nested, [...keyPath, key], doc);
      else if (ts.isStringLiteral(property.initializer)) {
        if (!doc)
          throw new Error(
            `contracts/cross-process.ts: ENV.${[...keyPath, key].join('.')} (${property.initializer.text}) has no doc comment; docs/configuration.md is generated from it`,
          );
        rows.push([`\`${property.initializer.text}\``, `\`ENV.${[...keyPath, key].join('.')}\``, doc]);
      }
    }
  };
  walk(objectLiteralOf(variable(source, 'ENV').initializer)!, [], '');
  const listed = new Set(rows.map((r) => r[0]));
  const missing = Object.values(ENV)
    .flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v)))
    .filter((v) => !listed.has(`\`${v}\``));
  if (missing.length) throw new Error(`ENV entries the generator did not find: ${missing.join(', ')}`);
  return rows;
}

/** The CDK context keys: PipelineConfig's members with their doc comments, defaults and the bounds readConfig checks. */
function contextRows(): string[][] {
  const { source, text } = parse('infra/config.ts');
  let config: ts.InterfaceDeclaration | undefined;
  const aliases = new Map<string, string>();
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === 'PipelineConfig') config = node;
    if (ts.isTypeAliasDeclaration(node)) aliases.set(node.name.text, node.type.getText(source));
  });
  if (!config) throw new Error('infra/config.ts: no PipelineConfig');
  const defaults = new Map<string, string>();
  for (const p of objectLiteralOf(variable(source, 'CONTEXT_DEFAULTS').initializer)!.properties) {
    if (ts.isPropertyAssignment(p)) defaults.set(p.name.getText(source), p.initializer.getText(source));
  }
  const bounds = new Map<string, string>();
  for (const m of text.matchAll(/\bint\(\s*'(\w+)',[\s\S]*?,\s*([\d_]+),\s*([\d_]+),?\s*\)/g)) {
    bounds.set(m[1]!, `integer ${m[2]!.replaceAll('_', ',')}..${m[3]!.replaceAll('_', ',')}`);
  }
  // Keys outside CONTEXT_DEFAULTS may still have a fallback in readConfig: `ctx('key') ?? value`.
  for (const m of text.matchAll(/ctx\('(\w+)'\)\s*\?\?\s*('[^']*'|\d+|true|false)/g)) {
    if (!defaults.has(m[1]!)) defaults.set(m[1]!, m[2]!);
  }
  const known: Record<string, string> = { DEFAULT_MODEL: `'${DEFAULT_MODEL}'` };
  return config.members.filter(ts.isPropertySignature).map((member) => {
    const key = member.name.getText(source);
    const type = member.type!.getText(source);
    const shown = aliases.get(type) ?? type;
    const fallback = defaults.get(key);
    const value = fallback === undefined ? 'none' : (known[fallback] ?? fallback);
    return [
      `\`${key}\``,
      `\`${shown}\`${bounds.has(key) ? `, ${bounds.get(key)!}` : ''}`,
      `\`${value.replace(/\s+/g, ' ')}\``,
      docComment(member, text) || '–',
    ].map(cell);
  });
}

function renderConfiguration(): string {
  return [
    '## Environment variables',
    '',
    'Every name that crosses a process boundary, from `ENV` in [contracts/cross-process.ts](../contracts/cross-process.ts) (the CDK stack sets them; the functions, workers, CLI and the fine-tune job read them):',
    '',
    table(
      ['variable', 'in code', 'meaning'],
      environmentRows().map((r) => r.map(cell)),
    ),
    '',
    '## Deployment settings (CDK context)',
    '',
    'Read once by `readConfig` in [infra/config.ts](../infra/config.ts) from `cdk.json` or `-c key=value`; a value outside its type or bounds stops the synth with the key named:',
    '',
    table(['key', 'type', 'default', 'meaning'], contextRows()),
  ].join('\n');
}

/** docs/models.md's table of built-in models: name, sha256, download URL, licence, cut points. */
function renderModels(): string {
  const rows = BUILTIN_MODELS.map((m) => [
    `\`${m.name}\`${m.name === DEFAULT_MODEL ? ' (default)' : ''}`,
    `\`${m.file}\``,
    `\`${m.sha256}\``,
    m.url ? `<${m.url}>` : 'in `../shared/models` only',
    m.license ?? '–',
    Object.keys(m.cutPoints)
      .map((c) => `\`${c}\``)
      .join(', '),
  ]);
  return [
    table(['model', 'file', 'sha256', 'download URL', 'licence', 'cut points'], rows),
    '',
    'From `BUILTIN_MODELS` in [core/models/builtin.ts](../core/models/builtin.ts).',
  ].join('\n');
}

const BLOCKS: Record<string, () => string> = {
  ...BENCH_BLOCKS,
  ...RECORDED_BLOCKS,
  ...DECODE_HISTORY_BLOCKS,
  'data-quality-views': dataQualityViews,
  'data-quality-kept': dataQualityKept,
  'iam-grant-removal': renderGrantRemoval,
  'serverless-scale': () => renderServerlessScale(readIfPresent('serverless-scale'), fileOf('serverless-scale')),
  'serverless-scale-8482c37': () =>
    renderServerlessScale(readResult('serverless-scale-8482c37'), fileOf('serverless-scale-8482c37')),
  'serverless-emulator': () =>
    renderServerlessEmulator(readIfPresent('serverless-emulator'), fileOf('serverless-emulator')),
  cli: renderCli,
  configuration: renderConfiguration,
  models: renderModels,
};

// ---- markers ------------------------------------------------------------------------------------------------------

const MARKER = /<!-- figures:([a-z0-9-]+) -->\n[\s\S]*?<!-- \/figures:\1 -->/g;

/** The file's text with every block between markers rendered again; names without a renderer are an error. */
export function renderText(text: string, file: string, cache = new Map<string, string>()): string {
  return text.replace(MARKER, (_, name: string) => {
    const render = BLOCKS[name];
    if (!render) throw new Error(`${file}: no renderer for <!-- figures:${name} --> (bench/render-docs.ts)`);
    let body = cache.get(name);
    if (body === undefined) {
      body = render();
      cache.set(name, body);
    }
    // Links in blocks are written relative to docs/; the README sits one folder up.
    const rebased = file.includes('/') ? body : body.replaceAll('](../', '](');
    return `<!-- figures:${name} -->\n${rebased}\n<!-- /figures:${name} -->`;
  });
}

/** Every marked file as it is and as it renders. */
export function renderAll(): Array<{ file: string; current: string; rendered: string }> {
  const cache = new Map<string, string>();
  return docFiles().flatMap((file) => {
    let current: string;
    try {
      current = readFileSync(path.join(REPO_ROOT, file), 'utf8');
    } catch {
      return [];
    }
    return [{ file, current, rendered: renderText(current, file, cache) }];
  });
}

/** The marker names a text uses. */
export function markersIn(text: string): string[] {
  return [...text.matchAll(MARKER)].map((m) => m[1]!);
}

export const BLOCK_NAMES = Object.keys(BLOCKS);

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const { file, current, rendered } of renderAll()) {
    if (current === rendered) continue;
    stale++;
    if (check) console.log(`stale: ${file}`);
    else {
      writeFileSync(path.join(REPO_ROOT, file), rendered);
      console.log(`rendered: ${file}`);
    }
  }
  if (check && stale) process.exitCode = 1;
  else if (!stale) console.log('docs: every rendered block is up to date');
}
