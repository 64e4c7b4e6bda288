import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FsBlobStore } from '../../core/adapters/fs-blob-store.js';
import { ConfigError, DataError, errorMessage } from '../../core/errors.js';
import { namespaceOf } from '../../core/features/feature-store.js';
import { DEFAULT_MODEL } from '../../core/models/builtin.js';
import { evaluate } from '../../core/use-cases/evaluate.js';
import { extract } from '../../core/use-cases/extract.js';
import { predict } from '../../core/use-cases/predict.js';
import { run } from '../../core/use-cases/run.js';
import { HEAD_KEY, trainHead, type HeadArtefact, type TrainRequest } from '../../core/use-cases/train-head.js';
import { optional } from '../../core/util/optional.js';
import { choiceFlag, numberFlag, positiveInt, stringFlag } from '../args.js';
import type { CliCommand, CommandContext, FlagValues, OptionSpec } from '../command.js';
import { localDeps } from '../local-deps.js';
import { HEAD_OPTIONS, headChoices } from './head-flags.js';
import { predictWithClassifierFile } from './report.js';
import { CODES_HELP, CODES_OPTIONS, trainOnCodesCommand } from './train-codes.js';
import { printEvaluation, printExtract, printModels, printPredictions, printRun, printTrain } from '../output.js';

const data: OptionSpec = { data: { type: 'string' }, seed: { type: 'string' }, 'val-fraction': { type: 'string' } };
const out: OptionSpec = { out: { type: 'string' }, cache: { type: 'string' } };
const model: OptionSpec = {
  model: { type: 'string' },
  'models-dir': { type: 'string', multiple: true },
  'allow-download': { type: 'boolean', default: false },
  workers: { type: 'string' },
  'batch-size': { type: 'string' },
  provider: { type: 'string' },
  tta: { type: 'string' },
};

/** Builds local (files + worker threads) dependencies from the flags every local command shares. */
function local(values: FlagValues, ctx: CommandContext, command: string) {
  const dataDir = values.data === undefined ? undefined : path.resolve(String(values.data));
  const outFlag = stringFlag(values, 'out');
  if (!outFlag && !dataDir) throw new ConfigError(`${command}: --out DIR is required (the workspace that extract/run wrote)`);
  const outDir = path.resolve(outFlag ?? path.join('cnn-codes-out', path.basename(dataDir!)));
  const deps = localDeps(
    ctx.env,
    {
      out: outDir,
      ...optional('cache', stringFlag(values, 'cache')),
      modelsDirs: (values['models-dir'] as string[] | undefined) ?? [],
      allowDownload: values['allow-download'] === true,
      ...optional('workers', positiveInt(values, 'workers')),
      ...optional('batchSize', positiveInt(values, 'batch-size')),
      ...optional('executionProvider', choiceFlag(values, 'provider', ['cpu', 'cuda'] as const)),
    },
    ctx.progress,
  );
  return { ...deps, outDir, dataDir };
}

async function withData(values: FlagValues, ctx: CommandContext, command: string) {
  if (values.data === undefined) throw new ConfigError(`${command}: --data DIR is required`);
  const deps = local(values, ctx, command);
  const stat = await fs.stat(deps.dataDir!).catch(() => undefined);
  if (!stat?.isDirectory()) throw new DataError(`data folder not found: ${deps.dataDir}`);
  const looked = await deps.registry.lookup(stringFlag(values, 'model') ?? DEFAULT_MODEL, deps.modelsDirs);
  // Test-time augmentation is part of the preprocessing, so its codes get their own cache namespace.
  const tta = choiceFlag(values, 'tta', ['flip', 'none'] as const);
  const { tta: _given, ...preprocess } = looked.descriptor.preprocess;
  const registered = tta === undefined ? looked : { ...looked, descriptor: { ...looked.descriptor, preprocess: tta === 'flip' ? { ...preprocess, tta } : preprocess } };
  const listOptions = {
    ...optional('valFraction', numberFlag(values, 'val-fraction', (n) => n > 0 && n < 1, 'a fraction between 0 and 1')),
    ...optional('seed', numberFlag(values, 'seed', Number.isInteger, 'an integer')),
  };
  return { deps, extractDeps: { ...deps, data: new FsBlobStore(deps.dataDir!), model: registered, onProgress: ctx.progress }, listOptions };
}

function trainRequest(values: FlagValues): TrainRequest {
  return {
    ...optional('layer', stringFlag(values, 'layer')),
    ...headChoices(values),
    ...optional('seed', numberFlag(values, 'seed', Number.isInteger, 'an integer')),
  };
}

const runCommand: CliCommand = {
  name: 'run',
  summary: 'extract codes, train a head with CV on train, evaluate on val  (--data required)',
  options: { ...data, ...out, ...model, ...HEAD_OPTIONS, split: { type: 'string' } },
  help: `Options for run / extract / train / evaluate / predict:
  --data DIR             dataset folder
  --out DIR              workspace for manifest, codes, head, metrics and report (default: cnn-codes-out/<data name>)
  --cache DIR            put the content-addressed code cache here instead of <out>/codes (shareable)
  --model NAME|FILE      model name or descriptor .json (default: ${DEFAULT_MODEL})
  --models-dir DIR       extra folder to look for models in (repeatable; also CNN_CODES_MODELS_DIR)
  --allow-download       fetch a model by its descriptor URL (verified by sha256) when not found locally
  --layer NAME           cut point: final (default), another named layer, comma list (extract), all, or auto (train/run)
  --head KIND            logistic (default), svm, or auto
  --C NUMBER             fix C instead of choosing it by cross-validation
  --folds N, --seed N    cross-validation folds (default 5) and seed (default 0)
  --class-weight balanced
  --exclude-suspects     fit the head without the train images flagged as likely label errors (data-quality.json)
  --val-fraction F       share of each class held out when the data has no val folder (default 0.2)
  --split NAME           split to evaluate (default val)
  --workers N            extraction worker threads (default: one per core)
  --batch-size N         images per inference batch (default 8)
  --provider cpu|cuda    onnxruntime execution provider (default cpu)
  --tta flip|none        test-time augmentation: the mean code of each image and its mirror (default none)
  --top K                predict: labels to show per image (default 1)`,
  async run(values, _positionals, ctx) {
    const { extractDeps, listOptions, deps } = await withData(values, ctx, 'run');
    const result = await run(extractDeps, { extract: { list: listOptions }, train: trainRequest(values), ...optional('split', stringFlag(values, 'split')) });
    ctx.progress.end();
    return printRun(result, deps.outDir, ctx.json);
  },
};

const extractCommand: CliCommand = {
  name: 'extract',
  summary: 'images → cached codes (incremental: unchanged images are never re-embedded)',
  options: { ...data, ...out, ...model, layer: { type: 'string' } },
  async run(values, _positionals, ctx) {
    const { extractDeps, listOptions, deps } = await withData(values, ctx, 'extract');
    const cuts = stringFlag(values, 'layer')?.split(',').map((s) => s.trim());
    const result = await extract(extractDeps, { ...optional('cuts', cuts), list: listOptions });
    ctx.progress.end();
    return printExtract(result.summary, deps.outDir, ctx.json);
  },
};

const trainCommand: CliCommand = {
  name: 'train',
  summary: 'fit a head on cached train codes (or --codes/--labels .npy); C (and layer/head with "auto") chosen by stratified k-fold CV',
  options: { ...out, ...HEAD_OPTIONS, ...CODES_OPTIONS },
  help: CODES_HELP,
  async run(values, _positionals, ctx) {
    if (values.codes !== undefined) return trainOnCodesCommand(values, ctx);
    const deps = local(values, ctx, 'train');
    const result = await trainHead({ ...deps, onProgress: ctx.progress }, trainRequest(values));
    ctx.progress.end();
    return printTrain(result.artefact, result.reused, deps.outDir, ctx.json);
  },
};

const evaluateCommand: CliCommand = {
  name: 'evaluate',
  summary: 'score the head on a held-out split and write metrics.json + report.md',
  options: { ...out, split: { type: 'string' } },
  async run(values, _positionals, ctx) {
    const deps = local(values, ctx, 'evaluate');
    const evaluation = await evaluate({ ...deps, onProgress: ctx.progress }, optional('split', stringFlag(values, 'split')));
    return printEvaluation(evaluation, deps.outDir, ctx.json);
  },
};

const predictCommand: CliCommand = {
  name: 'predict',
  summary: 'label new images: cnn-codes predict IMAGE|FOLDER... [--out DIR | --head head.json | --model classifier.onnx]',
  options: { ...out, ...model, head: { type: 'string' }, top: { type: 'string' } },
  allowPositionals: true,
  async run(values, positionals, ctx) {
    if (positionals.length === 0) throw new ConfigError('predict: give at least one IMAGE or FOLDER');
    const classifier = stringFlag(values, 'model');
    if (classifier?.endsWith('.onnx')) {
      const files = (await Promise.all(positionals.map((p) => imageFiles(path.resolve(p))))).flat();
      return printPredictions(await predictWithClassifierFile(classifier, files, positiveInt(values, 'top') ?? 1, ctx), ctx.json);
    }
    const deps = local(values, ctx, 'predict');
    const headPath = path.resolve(stringFlag(values, 'head') ?? path.join(deps.outDir, HEAD_KEY));
    const artefact = await readHeadFile(headPath);
    const looked = await deps.registry.lookup(stringFlag(values, 'model') ?? artefact.model.name, deps.modelsDirs);
    // A head trained on mirror-averaged codes (--tta flip) is fed the same kind of code: its namespace says which.
    const flipped = { ...looked.descriptor, preprocess: { ...looked.descriptor.preprocess, tta: 'flip' as const } };
    const registered = namespaceOf(flipped, artefact.layer).id === artefact.namespace ? { ...looked, descriptor: flipped } : looked;
    const files = (await Promise.all(positionals.map((p) => imageFiles(path.resolve(p))))).flat();
    const results = await predict(
      { model: registered, head: artefact, openEmbedder: deps.openEmbedder, onProgress: ctx.progress },
      files.map((file) => ({ key: file, read: () => fs.readFile(file) })),
      positiveInt(values, 'top') ?? 1,
    );
    ctx.progress.end();
    return printPredictions(results, ctx.json);
  },
};

const modelsCommand: CliCommand = {
  name: 'models',
  summary: 'list known models and the folders searched for their files',
  options: { 'models-dir': { type: 'string', multiple: true } },
  async run(values, _positionals, ctx) {
    const deps = local({ ...values, out: '.' }, ctx, 'models');
    return printModels(deps.registry, deps.modelsDirs, ctx.json);
  },
};

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

export const LOCAL_COMMANDS: CliCommand[] = [runCommand, extractCommand, trainCommand, evaluateCommand, predictCommand, modelsCommand];
