import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FsBlobStore } from '../core/adapters/fs-blob-store.js';
import { CnnCodesError, ConfigError, DataError, errorMessage } from '../core/errors.js';
import { DEFAULT_MODEL } from '../core/models/builtin.js';
import { evaluate } from '../core/use-cases/evaluate.js';
import { extract } from '../core/use-cases/extract.js';
import { predict } from '../core/use-cases/predict.js';
import { run } from '../core/use-cases/run.js';
import { HEAD_KEY, trainHead, type HeadArtefact } from '../core/use-cases/train-head.js';
import { choiceFlag, HELP, numberFlag, parseCommandLine, type ParsedArgs } from './args.js';
import { readEnvironment } from './config.js';
import { localDeps } from './local-deps.js';
import { printEvaluation, printExtract, printModels, printPredictions, printRun, printTrain } from './output.js';
import { progressReporter } from './progress.js';

/** Exit codes: 0 ok, 1 unexpected, 2 usage/config, 3 data, 4 model. */
const EXIT: Record<string, number> = { CONFIG: 2, DATA: 3, NOT_FOUND: 3, INVALID_IMAGE: 3, MODEL: 4, NOT_FITTED: 2 };

export async function main(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  try {
    const parsed = parseCommandLine(argv);
    if ('help' in parsed) {
      process.stdout.write(HELP);
      return 0;
    }
    json = parsed.values.json === true;
    const result = await dispatch(parsed, json);
    if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } catch (err) {
    const code = err instanceof CnnCodesError ? (EXIT[err.code] ?? 1) : 1;
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: err instanceof CnnCodesError ? err.code : 'INTERNAL', message: errorMessage(err) } })}\n`);
    process.stderr.write(`cnn-codes: error: ${errorMessage(err)}\n`);
    if (code === 1 && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return code;
  }
}

async function dispatch(args: ParsedArgs, json: boolean): Promise<unknown> {
  const v = args.values;
  const env = readEnvironment();
  const progress = progressReporter(json ? 'silent' : process.stderr.isTTY ? 'tty' : 'plain');
  const dataDir = typeof v.data === 'string' ? path.resolve(v.data) : undefined;
  if ((args.command === 'run' || args.command === 'extract') && !dataDir) throw new ConfigError(`${args.command}: --data DIR is required`);
  const out = path.resolve(typeof v.out === 'string' ? v.out : defaultOut(dataDir, args.command));
  const deps = localDeps(
    env,
    {
      out,
      ...(typeof v.cache === 'string' ? { cache: v.cache } : {}),
      modelsDirs: (v['models-dir'] as string[] | undefined) ?? [],
      allowDownload: v['allow-download'] === true,
      ...optional('workers', numberFlag(v, 'workers', (n) => Number.isInteger(n) && n > 0, 'a positive integer')),
      ...optional('batchSize', numberFlag(v, 'batch-size', (n) => Number.isInteger(n) && n > 0, 'a positive integer')),
      ...optional('executionProvider', choiceFlag(v, 'provider', ['cpu', 'cuda'] as const)),
    },
    progress,
  );
  const seed = numberFlag(v, 'seed', Number.isInteger, 'an integer');
  const listOptions = {
    ...optional('valFraction', numberFlag(v, 'val-fraction', (n) => n > 0 && n < 1, 'a fraction between 0 and 1')),
    ...optional('seed', seed),
  };
  const trainRequest = () => ({
    ...optional('layer', typeof v.layer === 'string' ? v.layer : undefined),
    ...optional('head', choiceFlag(v, 'head', ['logistic', 'svm', 'auto'] as const)),
    ...optional('C', numberFlag(v, 'C', (n) => n > 0, 'a positive number')),
    ...optional('folds', numberFlag(v, 'folds', (n) => Number.isInteger(n) && n >= 2, 'an integer ≥ 2')),
    ...optional('seed', seed),
    ...optional('classWeight', choiceFlag(v, 'class-weight', ['balanced'] as const)),
  });

  try {
    switch (args.command) {
      case 'models':
        return printModels(deps.registry, deps.modelsDirs, json);
      case 'extract':
      case 'run': {
        await assertDirectory(dataDir!);
        const model = await deps.registry.lookup(typeof v.model === 'string' ? v.model : DEFAULT_MODEL, deps.modelsDirs);
        const extractDeps = { data: new FsBlobStore(dataDir!), ...deps, model, onProgress: progress };
        if (args.command === 'extract') {
          const cuts = typeof v.layer === 'string' ? v.layer.split(',').map((s) => s.trim()) : undefined;
          const result = await extract(extractDeps, { ...optional('cuts', cuts), list: listOptions });
          progress.end();
          return printExtract(result.summary, out, json);
        }
        const result = await run(extractDeps, { extract: { list: listOptions }, train: trainRequest(), ...optional('split', typeof v.split === 'string' ? v.split : undefined) });
        progress.end();
        return printRun(result, out, json);
      }
      case 'train': {
        const result = await trainHead({ ...deps, onProgress: progress }, trainRequest());
        progress.end();
        return printTrain(result.artefact, result.reused, out, json);
      }
      case 'evaluate': {
        const evaluation = await evaluate({ ...deps, onProgress: progress }, optional('split', typeof v.split === 'string' ? v.split : undefined));
        return printEvaluation(evaluation, out, json);
      }
      case 'predict': {
        if (args.positionals.length === 0) throw new ConfigError('predict: give at least one IMAGE or FOLDER');
        const headPath = typeof v.head === 'string' ? path.resolve(v.head) : path.join(out, HEAD_KEY);
        const head = await readHeadFile(headPath);
        const model = await deps.registry.lookup(typeof v.model === 'string' ? v.model : head.model.name, deps.modelsDirs);
        const files = (await Promise.all(args.positionals.map((p) => imageFiles(path.resolve(p))))).flat();
        const topK = numberFlag(v, 'top', (n) => Number.isInteger(n) && n > 0, 'a positive integer') ?? 1;
        const results = await predict(
          { model, head, openEmbedder: deps.openEmbedder, onProgress: progress },
          files.map((file) => ({ key: file, read: () => fs.readFile(file) })),
          topK,
        );
        progress.end();
        return printPredictions(results, json);
      }
    }
  } finally {
    progress.end();
  }
}

function optional<K extends string, T>(key: K, value: T | undefined): { [P in K]?: T } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: T };
}

function defaultOut(dataDir: string | undefined, command: string): string {
  if (dataDir) return path.join('cnn-codes-out', path.basename(dataDir));
  throw new ConfigError(`${command}: --out DIR is required (the workspace that extract/run wrote)`);
}

async function assertDirectory(dir: string): Promise<void> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) throw new DataError(`data folder not found: ${dir}`);
}

async function readHeadFile(file: string): Promise<HeadArtefact> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as HeadArtefact;
  } catch (err) {
    throw new DataError(`cannot read head ${file}: ${errorMessage(err)} (train one first, or pass --head FILE)`, { cause: err });
  }
}

async function imageFiles(target: string): Promise<string[]> {
  const stat = await fs.stat(target).catch(() => undefined);
  if (!stat) throw new DataError(`no such file or folder: ${target}`);
  if (stat.isFile()) return [target];
  const entries = await fs.readdir(target, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
    .sort();
}
