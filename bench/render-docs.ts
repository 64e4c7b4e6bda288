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
}

function runOf(file: string, r: Json): Run {
  const load = (r.load as { before?: number[]; after?: number[] } | undefined) ?? {};
  const before = (r.loadBefore as number[] | undefined) ?? load.before;
  const after = (r.loadAfter as number[] | undefined) ?? load.after;
  const cpu = typeof r.cpu === 'string' ? r.cpu : ((r.cpu as { flags?: string } | undefined)?.flags ?? NONE);
  const cores = (r.cores as number | undefined) ?? (r.cpu as { cores?: number } | undefined)?.cores;
  return {
    file,
    commit: typeof r.commit === 'string' ? `${r.commit}${r.dirty === true ? '+' : ''}` : NONE,
    date: typeof r.date === 'string' ? r.date.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC') : NONE,
    cpu: cores ? `${cpu}, ${cores} cores` : cpu,
    load: before && after ? `${fixed(before[0], 2)} → ${fixed(after[0], 2)}` : NONE,
    ...(typeof r.command === 'string' ? { command: r.command } : {}),
  };
}

/** The line under a table: where its figures come from and how to make them again (what a file lacks is said so). */
function source(run: Run, command = run.command): string {
  const file = `[${run.file}](${path.posix.relative('docs', run.file)})`;
  const fields: Array<[string, string | undefined]> = [
    ['commit', run.commit === NONE ? undefined : `commit ${run.commit}`],
    ['date', run.date === NONE ? undefined : run.date],
    ['CPU', run.cpu === NONE ? undefined : run.cpu],
    ['load', run.load === NONE ? undefined : `load ${run.load}`],
  ];
  const known = fields.flatMap(([, v]) => (v ? [v] : []));
  const lacking = fields.flatMap(([name, v]) => (v ? [] : [name]));
  const missing = lacking.length ? ` (the file records no ${lacking.join(', ')}: rerun the bench to have them)` : '';
  return `Source: ${[file, ...known].join(', ')}${missing}${command ? `; reproduce with \`${command}\`.` : '.'}`;
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
    ...runs.map(([key, run]) => `- ${key}: ${source(runOf(file, run)).replace(/^Source: [^,]+, /, '')}`),
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
    for (const name of ['rerun-extract', 'rerun-extract-synthetic']) {
      if (!existsSync(path.join(RESULTS, `${name}.json`))) continue;
      const r = readResult(name);
      const f = r.figures as {
        images: number;
        data: string;
        repeats: number;
        verify: { medianSeconds: number; medianCpuSeconds: number };
        statIndex: { medianSeconds: number; medianCpuSeconds: number };
      };
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
      ...sources,
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
    const [label, run] = extractRuns(r).at(-1)!;
    const cores = r.cores as number;
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
    const estimate = estimateCosts(run.oursMedian.rate, cores, table_)!;
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
      `Scaled from the whole-process extraction rate of bench/extract's ${label} set (${fixed(run.oursMedian.rate, 1)} images/s on ${cores} vCPUs, decoding included) by \`estimateCosts\` in [core/report/pricing.ts](../core/report/pricing.ts), linearly in vCPUs (Lambda: one vCPU per 1,769 MB); prices from that file (${PRICE_TABLE.region}, ${PRICE_TABLE.asOf}). Compute only: requests, storage and idle time are not in it.`,
      '',
      source(runOf(fileOf('extract'), r), 'node dist/bench/extract.js'),
    ].join('\n');
  },
};

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
