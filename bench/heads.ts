/**
 * Heads benchmark: our logistic / SVM heads (C by 5-fold CV) beside ml-logistic-regression and scikit-learn, on the
 * same .npy files. Not a test: it prints a table.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/heads.js [--codes DIR] [--synthetic] [--repeat 3] [--python-threads 1]
 *
 * --codes DIR   train_X.npy (float32 [n,d]), train_y.npy (int32/int64), val_X.npy, val_y.npy. Without it a stand-in of
 *               hymenoptera's size (245×1280 / 153, 2 classes) is generated with bench/heads_sklearn.py.
 * --synthetic   also run 100,000×512, 10 classes, one C (0.01) for every method: one fit each, no CV.
 * Times (wall and process CPU, each the best of --repeat interleaved rounds; the box may be shared) cover
 * standardization + CV + refit, not loading; ml-logistic-regression and the synthetic set run once. The ratio column
 * compares CPU time, which load from other processes disturbs far less than wall time.
 * "scaling per-fold" refits the standardizer on every training fold (GridSearchCV over a pipeline); "scaling once"
 * standardizes all training rows first, as make_pipeline(StandardScaler(), LogisticRegressionCV()) does.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHead, crossValidate, defaultCGrid, Standardizer, type HeadKind, type Matrix } from '../core/heads/index.js';
import { decodeNpy } from '../core/features/npy.js';

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

const require = createRequire(import.meta.url);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pythonScript = join(repoRoot, 'bench/heads_sklearn.py');

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/**
 * Our heads run on one thread, so by default scikit-learn gets one too (--python-threads N to change it). On a shared
 * 2-core box, 2 BLAS threads made LogisticRegressionCV 8× slower than 1 thread: oversubscription, not speed.
 */
const pythonThreads = argValue('--python-threads') ?? '1';

function python(args: string[]): string {
  // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set on some of these machines and slow numpy down: unset for a fair timing.
  const env: NodeJS.ProcessEnv = {
    ...process.env, OMP_NUM_THREADS: pythonThreads, OPENBLAS_NUM_THREADS: pythonThreads, MKL_NUM_THREADS: pythonThreads,
  };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync('python3', [pythonScript, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`python3 ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

/** Folder names carry a version: change it when the generator changes, so stale data is not reused. */
function ensureData(kind: 'standin' | 'synthetic'): string {
  const dir = join(tmpdir(), 'cnn-codes-bench', `${kind}-v2`);
  if (!existsSync(join(dir, 'val_y.npy'))) {
    mkdirSync(dir, { recursive: true });
    python([`make-${kind}`, dir]);
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
  kind: HeadKind, scaling: 'per-fold' | 'once', train: { X: Matrix; y: Int32Array }, val: { X: Matrix; y: Int32Array },
): Row {
  const grid = defaultCGrid();
  const candidates = grid.map((C) => ({ id: `${kind}-${C}`, X: train.X, options: { kind, C } }));
  const { result, fitSeconds, cpuSeconds } = timed(() => crossValidate(candidates, train.y, { folds: 5, seed: 0, scaling, refit: true }));
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
    best = r === 0 ? rows : best.map((b, i) => ({
      ...b, fitSeconds: Math.min(b.fitSeconds, rows[i]!.fitSeconds), cpuSeconds: Math.min(b.cpuSeconds, rows[i]!.cpuSeconds),
    }));
  }
  return best;
}

function oursSingle(kind: HeadKind, C: number, train: { X: Matrix; y: Int32Array }, val: { X: Matrix; y: Int32Array }): Row {
  const { result: head, fitSeconds, cpuSeconds } = timed(() => createHead({ kind, C }).fit(train.X, train.y));
  const fit = head.toJSON().fit;
  return {
    method: `ours ${kind} (C=${C})`, valAccuracy: head.score(val.X, val.y), fitSeconds, cpuSeconds,
    notes: `tol 1e-4, ${fit.iterations} iterations${fit.converged ? '' : ', NOT converged'}`,
  };
}

/**
 * ml-logistic-regression: one-vs-all gradient ascent with a fixed step count and no intercept. Given the best chance
 * we can: standardized inputs plus a constant column (so it can learn an intercept).
 */
function mlLogisticRegression(train: { X: Matrix; y: Int32Array }, val: { X: Matrix; y: Int32Array }, steps: number, rate: number): Row {
  const { Matrix: MlMatrix } = require('ml-matrix') as typeof import('ml-matrix');
  const MlLogReg = require('ml-logistic-regression') as new (o: { numSteps: number; learningRate: number }) => {
    train(X: InstanceType<typeof MlMatrix>, y: InstanceType<typeof MlMatrix>): void;
    predict(X: InstanceType<typeof MlMatrix>): number[];
  };
  const withBias = (X: Matrix, scaler: Standardizer) => {
    const Z = scaler.transform(X);
    return new MlMatrix(Array.from({ length: Z.rows }, (_, i) => [...Z.data.subarray(i * Z.cols, (i + 1) * Z.cols), 1]));
  };
  const { result: { model, scaler }, fitSeconds, cpuSeconds } = timed(() => {
    const scaler = new Standardizer().fit(train.X);
    const model = new MlLogReg({ numSteps: steps, learningRate: rate });
    model.train(withBias(train.X, scaler), MlMatrix.columnVector(Array.from(train.y)));
    return { model, scaler };
  });
  const predicted = model.predict(withBias(val.X, scaler));
  const hits = predicted.filter((p, i) => p === val.y[i]).length;
  return {
    method: 'ml-logistic-regression 2.0.0', valAccuracy: hits / val.y.length, fitSeconds, cpuSeconds,
    notes: `numSteps ${steps}, learningRate ${rate}, standardized + constant column, no C (no regularization)`,
  };
}

function sklearnCv(dir: string): Row[] {
  return JSON.parse(python(['run', dir, '--mode', 'cv', '--grid', defaultCGrid().join(',')])) as Row[];
}

function printTable(title: string, rows: Row[], reference: (row: Row) => Row | undefined): void {
  console.log(`\n${title}`);
  console.log('| method | val accuracy | fit time, wall (s) | fit time, CPU (s) | CPU × scikit-learn | notes |');
  console.log('|---|---:|---:|---:|---:|---|');
  for (const row of rows) {
    const ref = reference(row);
    const ratio = ref ? (row.cpuSeconds / ref.cpuSeconds).toFixed(2) : '–';
    const cells = [(100 * row.valAccuracy).toFixed(1) + ' %', row.fitSeconds.toFixed(3), row.cpuSeconds.toFixed(3), ratio];
    console.log(`| ${row.method} | ${cells.join(' | ')} | ${row.notes} |`);
  }
}

const SYNTHETIC_C = 0.01;

function main(): void {
  const repeat = Number(argValue('--repeat') ?? 3);
  const codes = argValue('--codes') ?? ensureData('standin');
  const train = load(codes, 'train');
  const val = load(codes, 'val');
  console.log(`codes: ${codes} — train ${train.X.rows}×${train.X.cols}, val ${val.X.rows}, node ${process.version} (one thread), python BLAS/OpenMP threads: ${pythonThreads}`);
  const ours = (['logistic', 'svm'] as const).flatMap((kind) =>
    (['per-fold', 'once'] as const).map((scaling) => () => [oursWithCv(kind, scaling, train, val)]));
  const rows = interleaved(repeat, [...ours, () => sklearnCv(codes)]);
  const mllr = mlLogisticRegression(train, val, Number(argValue('--mllr-steps') ?? 1000), Number(argValue('--mllr-rate') ?? 5e-4));
  const lrcv = rows.find((r) => r.method.includes('LogisticRegressionCV'));
  const svmGrid = rows.find((r) => r.method.includes('LinearSVC'));
  printTable('C by cross-validation', [...rows, mllr], (r) => (/svm|SVC/.test(r.method) ? svmGrid : lrcv));

  if (process.argv.includes('--synthetic')) {
    const dir = ensureData('synthetic');
    const strain = load(dir, 'train');
    const sval = load(dir, 'val');
    console.log(`\nsynthetic: ${dir} — train ${strain.X.rows}×${strain.X.cols}, val ${sval.X.rows}`);
    const rows = [oursSingle('logistic', SYNTHETIC_C, strain, sval), oursSingle('svm', SYNTHETIC_C, strain, sval)];
    const skRows = JSON.parse(python(['run', dir, '--mode', 'single', '--C', String(SYNTHETIC_C)])) as Row[];
    printTable(`C = ${SYNTHETIC_C} on 100k × 512 × 10`, [...rows, ...skRows], (r) => (/svm|SVC/.test(r.method) ? skRows[1] : skRows[0]));
  }
}

main();
