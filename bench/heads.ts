/**
 * Heads benchmark: our logistic / SVM heads beside ml-logistic-regression and scikit-learn (run by the project's
 * .venv/bin/python), on the same .npy files. Not a test: it prints tables with the ratio to scikit-learn.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/heads.js [--codes DIR] [--synthetic] [--cv-large] [--train-cli] [--repeat 3]
 *                                                        [--skip-small] [--rows N]
 *
 * --codes DIR   train_X.npy (float32 [n,d]), train_y.npy (int32/int64), val_X.npy, val_y.npy. Without it a stand-in of
 *               hymenoptera's size (245×1280 / 153, 2 classes) is generated with bench/heads_sklearn.py.
 * --synthetic   100,000×512, 10 classes, one C (0.01): ours streamed (float32, ONNX GEMM on every core), ours in
 *               memory (float64, scalar JS: the engine it replaces), our SVM, LogisticRegression, LinearSVC.
 * --cv-large    100,000×1280, 10 classes, C by 5-fold CV over 8 Cs: ours streamed against LogisticRegressionCV on the
 *               same folds (PredefinedSplit), grid and cores (n_jobs = cores).
 * --skip-small  leave out the hymenoptera-size section (e.g. `--skip-small --cv-large`: the 100k × 1280 CV pair alone).
 * --rows N      rows of the synthetic sets instead of 100,000 (a quick check that a large section runs).
 * --train-cli   the real binary, `cnn-codes train --codes … --val-codes …` (CV) on the 100k×512 set, against
 *               LogisticRegressionCV on the same folds and grid: val accuracy side by side.
 * The hymenoptera-size section runs both sides on one thread (our in-memory heads are single-threaded); the large
 * ones give both sides every core. Times are wall and process CPU (all threads); for the small section each is the
 * best of --repeat interleaved rounds, the large ones run once. The ratio columns divide by scikit-learn's figure.
 * "scaling per-fold" refits the standardizer on every training fold (GridSearchCV over a pipeline); "scaling once"
 * standardizes all training rows first, as make_pipeline(StandardScaler(), LogisticRegressionCV()) does.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createHead,
  crossValidate,
  defaultCGrid,
  Standardizer,
  type HeadKind,
  type Matrix,
} from '../core/heads/index.js';
import { decodeNpy, encodeNpy } from '../core/features/npy.js';
import { stratifiedKFold } from '../core/heads/folds.js';
import { inMemoryRows } from '../core/heads/row-source.js';
import { crossValidateStreamed, fitStreamed } from '../core/heads/streamed-logistic.js';
import { loadHead } from '../core/heads/serialize.js';
import { startResult } from './results-file.js';

interface Row {
  method: string;
  valAccuracy: number;
  /** Wall clock. */
  fitSeconds: number;
  /** Process CPU time: steadier than wall time when other work shares the machine, and fair at one thread a side. */
  cpuSeconds: number;
  notes: string;
}

function timed<T>(run: () => T): { result: T; fitSeconds: number; cpuSeconds: number } {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  const result = run();
  const used = process.cpuUsage(cpu);
  return { result, fitSeconds: (performance.now() - wall) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

async function timedAsync<T>(run: () => Promise<T>): Promise<{ result: T; fitSeconds: number; cpuSeconds: number }> {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  const result = await run();
  const used = process.cpuUsage(cpu);
  return { result, fitSeconds: (performance.now() - wall) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

const require = createRequire(import.meta.url);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pythonScript = join(repoRoot, 'bench/heads_sklearn.py');

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/**
 * The small section: our in-memory heads run on one thread, so scikit-learn gets one too by default
 * (--python-threads N to change it). The large sections give both sides every core.
 */
const pythonThreads = argValue('--python-threads') ?? '1';
const cores = availableParallelism();
const venvPython = join(repoRoot, '.venv/bin/python');

function python(args: string[], threads = pythonThreads): string {
  if (!existsSync(venvPython))
    throw new Error(`${venvPython} not found: run "bash scripts/setup-python.sh" first (it installs scikit-learn)`);
  // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set on some of these machines and slow numpy down: unset for a fair timing,
  // in scikit-learn's process only.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_NUM_THREADS: threads,
    OPENBLAS_NUM_THREADS: threads,
    MKL_NUM_THREADS: threads,
  };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(venvPython, [pythonScript, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${venvPython} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

/**
 * Rows of the synthetic sets (default 100,000; val is a tenth, 1,000..10,000): `--rows 5000` runs the large sections at
 * a small size, to check they work before the full-size run.
 */
const syntheticRows = Number(argValue('--rows') ?? 100_000);

/** Folder names carry a version: change it when the generator changes, so stale data is not reused. */
function ensureData(kind: 'standin' | 'synthetic', d = 512): string {
  const size = kind === 'synthetic' && syntheticRows !== 100_000 ? `-${syntheticRows}` : '';
  const dir = join(
    tmpdir(),
    'cnn-codes-bench',
    kind === 'synthetic' && d !== 512 ? `synthetic-${d}${size}-v2` : `${kind}${size}-v2`,
  );
  if (!existsSync(join(dir, 'val_y.npy'))) {
    mkdirSync(dir, { recursive: true });
    python([`make-${kind}`, dir, ...(kind === 'synthetic' ? ['--d', String(d), '--n', String(syntheticRows)] : [])]);
  }
  return dir;
}

function load(dir: string, split: 'train' | 'val'): { X: Matrix; y: Int32Array } {
  const X = decodeNpy(readFileSync(join(dir, `${split}_X.npy`)));
  const y = decodeNpy(readFileSync(join(dir, `${split}_y.npy`)));
  if (X.shape.length !== 2) throw new Error(`${split}_X.npy must be 2-D; shape ${X.shape}`);
  return {
    X: { rows: X.shape[0]!, cols: X.shape[1]!, data: Float64Array.from(X.data as ArrayLike<number>) },
    y: Int32Array.from(y.data as ArrayLike<number | bigint>, Number),
  };
}

function oursWithCv(
  kind: HeadKind,
  scaling: 'per-fold' | 'once',
  train: { X: Matrix; y: Int32Array },
  val: { X: Matrix; y: Int32Array },
): Row {
  const grid = defaultCGrid();
  const candidates = grid.map((C) => ({ id: `${kind}-${C}`, X: train.X, options: { kind, C } }));
  const { result, fitSeconds, cpuSeconds } = timed(() =>
    crossValidate(candidates, train.y, { folds: 5, seed: 0, scaling, refit: true }),
  );
  return {
    method: `ours ${kind}, C by 5-fold CV, scaling ${scaling}`,
    fitSeconds,
    cpuSeconds,
    valAccuracy: result.head!.score(val.X, val.y),
    notes: `${grid.length} Cs ${grid[0]}..${grid.at(-1)}, refit; chose C=${result.best.C}`,
  };
}

/**
 * Runs every method once per round, `rounds` times, keeping each method's fastest round: interleaving keeps a change
 * in machine load from favouring whichever side ran first. The first round is also reported (cold JIT for ours).
 */
function interleaved(rounds: number, methods: Array<() => Row[]>): Row[] {
  let best: Row[] = [];
  for (let r = 0; r < rounds; r++) {
    const rows = methods.flatMap((m) => m());
    if (r === 0) for (const row of rows) row.notes += `; first round ${row.cpuSeconds.toFixed(3)} s CPU`;
    best =
      r === 0
        ? rows
        : best.map((b, i) => ({
            ...b,
            fitSeconds: Math.min(b.fitSeconds, rows[i]!.fitSeconds),
            cpuSeconds: Math.min(b.cpuSeconds, rows[i]!.cpuSeconds),
          }));
  }
  return best;
}

function oursSingle(
  kind: HeadKind,
  C: number,
  train: { X: Matrix; y: Int32Array },
  val: { X: Matrix; y: Int32Array },
): Row {
  const { result: head, fitSeconds, cpuSeconds } = timed(() => createHead({ kind, C }).fit(train.X, train.y));
  const fit = head.toJSON().fit;
  return {
    method: `ours ${kind} (C=${C})`,
    valAccuracy: head.score(val.X, val.y),
    fitSeconds,
    cpuSeconds,
    notes: `tol 1e-4, ${fit.iterations} iterations${fit.converged ? '' : ', NOT converged'}`,
  };
}

/**
 * ml-logistic-regression: one-vs-all gradient ascent with a fixed step count and no intercept. Given the best chance
 * we can: standardized inputs plus a constant column (so it can learn an intercept).
 */
function mlLogisticRegression(
  train: { X: Matrix; y: Int32Array },
  val: { X: Matrix; y: Int32Array },
  steps: number,
  rate: number,
): Row {
  const { Matrix: MlMatrix } = require('ml-matrix') as typeof import('ml-matrix');
  const MlLogReg = require('ml-logistic-regression') as new (o: { numSteps: number; learningRate: number }) => {
    train(X: InstanceType<typeof MlMatrix>, y: InstanceType<typeof MlMatrix>): void;
    predict(X: InstanceType<typeof MlMatrix>): number[];
  };
  const withBias = (X: Matrix, scaler: Standardizer) => {
    const Z = scaler.transform(X);
    return new MlMatrix(
      Array.from({ length: Z.rows }, (_, i) => [...Z.data.subarray(i * Z.cols, (i + 1) * Z.cols), 1]),
    );
  };
  const {
    result: { model, scaler },
    fitSeconds,
    cpuSeconds,
  } = timed(() => {
    const scaler = new Standardizer().fit(train.X);
    const model = new MlLogReg({ numSteps: steps, learningRate: rate });
    model.train(withBias(train.X, scaler), MlMatrix.columnVector(Array.from(train.y)));
    return { model, scaler };
  });
  const predicted = model.predict(withBias(val.X, scaler));
  const hits = predicted.filter((p, i) => p === val.y[i]).length;
  return {
    method: 'ml-logistic-regression 2.0.0',
    valAccuracy: hits / val.y.length,
    fitSeconds,
    cpuSeconds,
    notes: `numSteps ${steps}, learningRate ${rate}, standardized + constant column, no C (no regularization)`,
  };
}

function sklearnCv(dir: string): Row[] {
  return JSON.parse(python(['run', dir, '--mode', 'cv', '--grid', defaultCGrid().join(',')])) as Row[];
}

function printTable(title: string, rows: Row[], reference: (row: Row) => Row | undefined): void {
  console.log(`\n${title}`);
  console.log('| method | val accuracy | wall (s) | CPU (s) | wall × scikit-learn | CPU × scikit-learn | notes |');
  console.log('|---|---:|---:|---:|---:|---:|---|');
  for (const row of rows) {
    const ref = reference(row);
    const ratio = (a: number, b: number | undefined) => (b ? (a / b).toFixed(2) : '–');
    const cells = [
      (100 * row.valAccuracy).toFixed(2) + ' %',
      row.fitSeconds.toFixed(3),
      row.cpuSeconds.toFixed(3),
      ratio(row.fitSeconds, ref?.fitSeconds),
      ratio(row.cpuSeconds, ref?.cpuSeconds),
    ];
    console.log(`| ${row.method} | ${cells.join(' | ')} | ${row.notes} |`);
  }
}

interface Codes32 {
  X: Float32Array;
  y: Int32Array;
  dim: number;
}

function load32(dir: string, split: 'train' | 'val'): Codes32 {
  const X = decodeNpy(readFileSync(join(dir, `${split}_X.npy`)));
  const y = decodeNpy(readFileSync(join(dir, `${split}_y.npy`)));
  if (!(X.data instanceof Float32Array) || X.shape.length !== 2) throw new Error(`${split}_X.npy must be 2-D float32`);
  return { X: X.data, y: Int32Array.from(y.data as ArrayLike<number | bigint>, Number), dim: X.shape[1]! };
}

function valAccuracy(head: ReturnType<typeof loadHead>, val: Codes32): number {
  return head.score({ rows: val.y.length, cols: val.dim, data: Float64Array.from(val.X) }, val.y);
}

/** Our streamed logistic regression (float32 rows, ONNX GEMM on every core), one C. */
async function oursStreamedSingle(C: number, train: Codes32, val: Codes32): Promise<Row> {
  const { result, fitSeconds, cpuSeconds } = await timedAsync(() =>
    fitStreamed(inMemoryRows(train.X, train.y, train.dim), C),
  );
  const { fit } = result.head;
  return {
    method: `ours logistic, streamed float32 + ONNX GEMM (C=${C})`,
    valAccuracy: valAccuracy(loadHead(result.head), val),
    fitSeconds,
    cpuSeconds,
    notes: `tol 1e-4, ${fit.iterations} iterations, ${result.passes} passes incl. 1 for statistics${fit.converged ? '' : ', NOT converged'}; onnxruntime threads = ${cores}`,
  };
}

/** The folds both sides use: ours from folds.ts, written for scikit-learn's PredefinedSplit. */
function sharedFolds(dir: string, y: Int32Array, folds: number): Int32Array {
  const foldOf = new Int32Array(y.length);
  stratifiedKFold(y, folds, 0).forEach((split, f) =>
    split.test.forEach((i) => {
      foldOf[i] = f;
    }),
  );
  writeFileSync(join(dir, 'folds.npy'), encodeNpy(foldOf, [foldOf.length]));
  return foldOf;
}

function sklearnLrcv(dir: string): Row[] {
  return JSON.parse(
    python(
      ['run', dir, '--mode', 'lrcv', '--grid', defaultCGrid().join(','), '--n-jobs', String(cores)],
      String(cores),
    ),
  ) as Row[];
}

/** The command line that reproduces a result file of this bench (the files are named by section, not by script). */
const HEADS_COMMAND = `node dist/bench/heads.js ${process.argv.slice(2).join(' ')}`.trim();

async function largeCv(): Promise<void> {
  const saved = startResult('heads-cv-large', {
    command: HEADS_COMMAND,
    versions: { blas: JSON.parse(python(['blas'])) as unknown },
  });
  const dir = ensureData('synthetic', 1280);
  const train = load32(dir, 'train');
  const val = load32(dir, 'val');
  const foldOf = sharedFolds(dir, train.y, 5);
  console.log(
    `\nsynthetic: ${dir} — train ${train.y.length}×${train.dim}, val ${val.y.length}; load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const grid = defaultCGrid();
  const { result, fitSeconds, cpuSeconds } = await timedAsync(() =>
    crossValidateStreamed(inMemoryRows(train.X, train.y, train.dim), grid, foldOf, 5),
  );
  const ours: Row = {
    method: 'ours logistic, C by 5-fold CV, streamed float32 + ONNX GEMM',
    valAccuracy: valAccuracy(loadHead(result.head), val),
    fitSeconds,
    cpuSeconds,
    notes: `${grid.length} Cs, our folds, refit; chose C=${result.best.C}; ${result.passes} passes; folds in lockstep, onnxruntime threads = ${cores}`,
  };
  // Printed before scikit-learn starts: on a loaded machine its run can take longer than the session has.
  console.log(`ours: ${JSON.stringify(ours)}`);
  const sk = sklearnLrcv(dir);
  printTable(
    `C by 5-fold CV over ${grid.length} Cs on ${train.y.length} × ${train.dim} × 10`,
    [ours, ...sk],
    () => sk[0],
  );
  const figures = { rows: train.y.length, dim: train.dim, valRows: val.y.length, folds: 5, Cs: grid.length };
  console.log(`written: ${saved.save({ ...figures, cores, methods: [ours, ...sk] })}`);
}

/** The real binary on the 100k × 512 set with CV, against LogisticRegressionCV on the same folds and grid. */
function trainCli(): void {
  const saved = startResult('heads-train-cli', {
    command: HEADS_COMMAND,
    versions: { blas: JSON.parse(python(['blas'])) as unknown },
  });
  const dir = ensureData('synthetic');
  const y = load32(dir, 'train').y;
  sharedFolds(dir, y, 5);
  const out = join(tmpdir(), 'cnn-codes-bench', 'train-cli-out');
  const args = [
    join(repoRoot, 'bin/cnn-codes.js'),
    'train',
    '--codes',
    join(dir, 'train_X.npy'),
    '--labels',
    join(dir, 'train_y.npy'),
    '--val-codes',
    join(dir, 'val_X.npy'),
    '--val-labels',
    join(dir, 'val_y.npy'),
    '--out',
    out,
    '--json',
  ];
  const started = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`cnn-codes train --codes failed:\n${r.stderr}`);
  const wall = (performance.now() - started) / 1000;
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as {
    metrics: { accuracy: number };
    head: { C: number };
    timings: Record<string, number>;
  };
  const ours: Row = {
    method: 'cnn-codes train --codes (real binary, C by 5-fold CV)',
    valAccuracy: metrics.metrics.accuracy,
    fitSeconds: wall,
    cpuSeconds: metrics.timings.cvCpuSeconds ?? Number.NaN,
    notes: `chose C=${metrics.head.C}; wall includes process start and reading the .npy; CPU is the CV's`,
  };
  const sk = sklearnLrcv(dir);
  printTable(
    `\`train --codes\` on ${y.length} × 512 × 10 against LogisticRegressionCV (same folds and grid)`,
    [ours, ...sk],
    () => sk[0],
  );
  const gap = 100 * (ours.valAccuracy - sk[0]!.valAccuracy);
  console.log(`val accuracy gap: ${gap >= 0 ? '+' : ''}${gap.toFixed(2)} points (target ±0.2)`);
  console.log(`written: ${saved.save({ rows: y.length, dim: 512, folds: 5, cores, methods: [ours, ...sk] })}`);
}

const SYNTHETIC_C = 0.01;

async function main(): Promise<void> {
  const repeat = Number(argValue('--repeat') ?? 3);
  // bench/results/heads.json: the hymenoptera-size and 100k × 512 tables; --cv-large and --train-cli write
  // heads-cv-large.json and heads-train-cli.json.
  const result = startResult('heads', { versions: { blas: JSON.parse(python(['blas'])) as unknown } });
  const figures: Record<string, Row[]> = {};
  console.log(
    `node ${process.version}, ${cores} cores, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; scikit-learn BLAS (OPENBLAS_CORETYPE/L2_SIZE unset): ${python(['blas'])}`,
  );
  if (!process.argv.includes('--skip-small')) {
    const codes = argValue('--codes') ?? ensureData('standin');
    const train = load(codes, 'train');
    const val = load(codes, 'val');
    console.log(
      `codes: ${codes} — train ${train.X.rows}×${train.X.cols}, val ${val.X.rows}, our heads in memory (one thread), python BLAS/OpenMP threads: ${pythonThreads}`,
    );
    const ours = (['logistic', 'svm'] as const).flatMap((kind) =>
      (['per-fold', 'once'] as const).map((scaling) => () => [oursWithCv(kind, scaling, train, val)]),
    );
    const rows = interleaved(repeat, [...ours, () => sklearnCv(codes)]);
    const mllr = mlLogisticRegression(
      train,
      val,
      Number(argValue('--mllr-steps') ?? 1000),
      Number(argValue('--mllr-rate') ?? 5e-4),
    );
    // The reference is LogisticRegressionCV on our grid: the same 8 Cs (its default grid has 10, 1e-4..1e4).
    const lrcv = rows.find((r) => r.method.includes('LogisticRegressionCV (our grid)'));
    const svmGrid = rows.find((r) => r.method.includes('LinearSVC'));
    printTable('C by cross-validation', [...rows, mllr], (r) => (/svm|SVC/.test(r.method) ? svmGrid : lrcv));
    figures.small = [...rows, mllr];
  }

  if (process.argv.includes('--synthetic')) {
    const dir = ensureData('synthetic');
    const strain = load(dir, 'train');
    const sval = load(dir, 'val');
    const train32 = load32(dir, 'train');
    const val32 = load32(dir, 'val');
    console.log(
      `\nsynthetic: ${dir} — train ${strain.X.rows}×${strain.X.cols}, val ${sval.X.rows}; load ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    const rows = [
      await oursStreamedSingle(SYNTHETIC_C, train32, val32),
      oursSingle('logistic', SYNTHETIC_C, strain, sval),
      oursSingle('svm', SYNTHETIC_C, strain, sval),
    ];
    rows[1]!.method += ', in memory float64, scalar JS (the engine replaced)';
    const skRows = JSON.parse(
      python(['run', dir, '--mode', 'single', '--C', String(SYNTHETIC_C)], String(cores)),
    ) as Row[];
    printTable(
      `C = ${SYNTHETIC_C} on ${strain.X.rows} × 512 × 10 (scikit-learn BLAS threads = ${cores})`,
      [...rows, ...skRows],
      (r) => (/svm|SVC/.test(r.method) ? skRows[1] : skRows[0]),
    );
    figures.synthetic = [...rows, ...skRows];
  }
  if (Object.keys(figures).length > 0) console.log(`written: ${result.save(figures)}`);
  if (process.argv.includes('--cv-large')) await largeCv();
  if (process.argv.includes('--train-cli')) trainCli();
}

await main();
