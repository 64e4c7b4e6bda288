import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FsBlobStore } from '../../core/adapters/fs-blob-store.js';
import { readImageFile } from '../../core/adapters/regular-file.js';
import { ConfigError, DataError } from '../../core/errors.js';
import { DEFAULT_MODEL } from '../../core/models/builtin.js';
import type { DecodeSetting } from '../../core/models/descriptor.js';
import { evaluate } from '../../core/use-cases/evaluate.js';
import { extract } from '../../core/use-cases/extract.js';
import { predict } from '../../core/use-cases/predict.js';
import { run } from '../../core/use-cases/run.js';
import { trainHead, type TrainRequest } from '../../core/use-cases/train-head.js';
import { repairWorkspace, verifyWorkspace } from '../../core/use-cases/verify.js';
import { modelForHead, withDecode, withTta } from '../../core/use-cases/tta.js';
import { HEAD_KEY } from '../../core/workspace/keys.js';
import { MANIFEST_KEY } from '../../core/features/manifest.js';
import type { BlobStore } from '../../core/ports/blob-store.js';
import { optional } from '../../core/util/optional.js';
import { choiceFlag, numberFlag, positiveInt, stringFlag } from '../args.js';
import type { CliCommand, CommandContext, FlagValues, OptionSpec } from '../command.js';
import { whileInterruptible } from '../interrupt.js';
import { localDeps } from '../local-deps.js';
import { readHeadFile } from './head-file.js';
import { HEAD_OPTIONS, headChoices } from './head-flags.js';
import { localDatasetOf, predictWithClassifierFile } from './report.js';
import { CODES_FLAG_DOCS, CODES_OPTIONS, trainOnCodesCommand } from './train-codes.js';
import {
  printEvaluation,
  printExtract,
  printModels,
  printPredictions,
  printRun,
  printTrain,
  printVerify,
  verifySummary,
} from '../output.js';

const data: OptionSpec = {
  data: { type: 'string' },
  seed: { type: 'string' },
  'val-fraction': { type: 'string' },
  verify: { type: 'boolean', default: false },
  'follow-symlinks': { type: 'boolean', default: false },
};
const out: OptionSpec = { out: { type: 'string' }, cache: { type: 'string' } };
const model: OptionSpec = {
  model: { type: 'string' },
  'models-dir': { type: 'string', multiple: true },
  'allow-download': { type: 'boolean', default: false },
  workers: { type: 'string' },
  'batch-size': { type: 'string' },
  provider: { type: 'string' },
  tta: { type: 'string' },
  decode: { type: 'string' },
};

/** --decode, else CNN_CODES_DECODE (default fast). */
function decodeSetting(values: FlagValues, ctx: CommandContext): DecodeSetting {
  return choiceFlag(values, 'decode', ['fast', 'exact'] as const) ?? ctx.env.decode;
}

/** Builds local (files + worker threads) dependencies from the flags every local command shares. */
function local(values: FlagValues, ctx: CommandContext, command: string, stamps = false) {
  const dataDir = values.data === undefined ? undefined : path.resolve(String(values.data));
  const outFlag = stringFlag(values, 'out');
  if (!outFlag && !dataDir)
    throw new ConfigError(`${command}: --out DIR is required (the workspace that extract/run wrote)`);
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
      stamps,
    },
    ctx.progress,
  );
  return { ...deps, outDir, dataDir };
}

async function withData(values: FlagValues, ctx: CommandContext, command: string, opened?: ReturnType<typeof local>) {
  if (values.data === undefined) throw new ConfigError(`${command}: --data DIR is required`);
  const deps = opened ? { ...opened, dataDir: path.resolve(String(values.data)) } : local(values, ctx, command, true);
  const stat = await fs.stat(deps.dataDir!).catch(() => undefined);
  if (!stat?.isDirectory()) throw new DataError(`data folder not found: ${deps.dataDir}`);
  const found = await deps.registry.lookup(stringFlag(values, 'model') ?? DEFAULT_MODEL, deps.modelsDirs);
  const registered = withTta(
    withDecode(found, decodeSetting(values, ctx)),
    choiceFlag(values, 'tta', ['flip', 'none'] as const),
  );
  const listOptions = {
    ...optional(
      'valFraction',
      numberFlag(values, 'val-fraction', (n) => n > 0 && n < 1, 'a fraction between 0 and 1'),
    ),
    ...optional('seed', numberFlag(values, 'seed', Number.isInteger, 'an integer')),
  };
  const extractDeps = {
    ...deps,
    data: new FsBlobStore(deps.dataDir!, { followExternalSymlinks: values['follow-symlinks'] === true }),
    model: registered,
    onProgress: ctx.progress,
    onWarning: warn(ctx),
  };
  return { deps, extractDeps, listOptions, verify: values.verify === true };
}

/**
 * The folder extract read, when it is still there: train and evaluate confirm near-duplicate candidates by the images
 * (core/quality/duplicates.ts nearDuplicateRule), as `run` does with the folder it is given.
 */
async function extractedDataset(workspace: BlobStore): Promise<{ data?: BlobStore }> {
  const manifest = await workspace.getJson<{ dataset?: unknown }>(MANIFEST_KEY).catch(() => undefined);
  const dir = typeof manifest?.dataset === 'string' ? localDatasetOf({ dataset: manifest.dataset }) : undefined;
  return dir && (await fs.stat(dir).catch(() => undefined))?.isDirectory() ? { data: new FsBlobStore(dir) } : {};
}

function warn(ctx: CommandContext): (message: string) => void {
  return (message) => {
    ctx.progress.end();
    process.stderr.write(`cnn-codes: warning: ${message}\n`);
  };
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
  usage: 'run --data DIR [--out DIR] [options]',
  example: 'cnn-codes run --data ../shared/data/hymenoptera_data --out cnn-codes-out/hymenoptera',
  async run(values, _positionals, ctx) {
    const { extractDeps, listOptions, deps, verify } = await withData(values, ctx, 'run');
    const result = await whileInterruptible((signal) =>
      run(extractDeps, {
        extract: { list: listOptions, verify, signal },
        train: trainRequest(values),
        ...optional('split', stringFlag(values, 'split')),
      }),
    ).finally(() => deps.stamps?.close());
    ctx.progress.end();
    return printRun(result, deps.outDir, ctx.json);
  },
};

const extractCommand: CliCommand = {
  name: 'extract',
  summary: 'images → cached codes (incremental: unchanged images are never re-embedded)',
  usage: 'extract --data DIR [--out DIR] [--layer final,NAME|all] [options]',
  example: 'cnn-codes extract --data ../shared/data/hymenoptera_data --layer all',
  options: { ...data, ...out, ...model, layer: { type: 'string' } },
  flagDocs: {
    layer: { arg: 'LIST', text: 'cut points to extract: final (default), a comma list of named layers, or all' },
  },
  async run(values, _positionals, ctx) {
    const { extractDeps, listOptions, deps, verify } = await withData(values, ctx, 'extract');
    const cuts = stringFlag(values, 'layer')
      ?.split(',')
      .map((s) => s.trim());
    const result = await whileInterruptible((signal) =>
      extract(extractDeps, { ...optional('cuts', cuts), list: listOptions, verify, signal }),
    ).finally(() => deps.stamps?.close());
    ctx.progress.end();
    return printExtract(result.summary, deps.outDir, ctx.json);
  },
};

const trainCommand: CliCommand = {
  name: 'train',
  summary:
    'fit a head on cached train codes (or --codes/--labels .npy); C (and layer/head with "auto") chosen by stratified k-fold CV',
  usage:
    'train --out DIR [--layer NAME|auto] [--head KIND] [--C x] [options]   |   train --codes X.npy --labels y.npy [--val-codes V.npy --val-labels W.npy] [--out DIR]',
  example: 'cnn-codes train --out cnn-codes-out/hymenoptera --layer auto --head auto',
  options: { ...out, ...HEAD_OPTIONS, ...CODES_OPTIONS },
  flagDocs: {
    out: {
      arg: 'DIR',
      text: 'the workspace extract wrote (required), or where --codes writes head.json, metrics.json and reports',
    },
    cache: { arg: 'DIR', text: 'the code cache extract used, when it was given --cache' },
    seed: { arg: 'N', text: 'seed of the cross-validation folds (default 0)' },
    ...CODES_FLAG_DOCS,
  },
  async run(values, _positionals, ctx) {
    if (values.codes !== undefined) return trainOnCodesCommand(values, ctx);
    const deps = local(values, ctx, 'train');
    const result = await trainHead(
      { ...deps, ...(await extractedDataset(deps.workspace)), onProgress: ctx.progress },
      trainRequest(values),
    );
    ctx.progress.end();
    return printTrain(result.artefact, result.reused, deps.outDir, ctx.json);
  },
};

const evaluateCommand: CliCommand = {
  name: 'evaluate',
  summary: 'score the head on a held-out split and write metrics.json + report.md',
  usage: 'evaluate --out DIR [--split val|test]',
  example: 'cnn-codes evaluate --out cnn-codes-out/hymenoptera --split val',
  options: { ...out, split: { type: 'string' } },
  flagDocs: {
    out: { arg: 'DIR', text: 'the workspace train wrote (required)' },
    cache: { arg: 'DIR', text: 'the code cache extract used, when it was given --cache' },
  },
  async run(values, _positionals, ctx) {
    const deps = local(values, ctx, 'evaluate');
    const evaluation = await evaluate(
      { ...deps, ...(await extractedDataset(deps.workspace)), onProgress: ctx.progress },
      optional('split', stringFlag(values, 'split')),
    );
    return printEvaluation(evaluation, deps.outDir, ctx.json);
  },
};

const predictCommand: CliCommand = {
  name: 'predict',
  summary:
    'label new images: cnn-codes predict IMAGE|FOLDER... [--out DIR | --head head.json | --model classifier.onnx]',
  usage: 'predict IMAGE|FOLDER... (--out DIR | --head FILE | --model classifier.onnx) [--top K]',
  example: 'cnn-codes predict ../shared/data/hymenoptera_data/val/bees --out cnn-codes-out/hymenoptera --top 2',
  options: { ...out, ...model, head: { type: 'string' }, top: { type: 'string' } },
  flagDocs: {
    out: { arg: 'DIR', text: 'the workspace whose head.json labels the images' },
    cache: { arg: 'DIR', text: 'unused by predict (images are embedded afresh); accepted for symmetry with run' },
    model: { arg: 'NAME|FILE', text: "backbone (default: the head's), or an exported classifier.onnx to use alone" },
    head: { arg: 'FILE', text: 'head.json to use instead of <out>/head.json' },
  },
  allowPositionals: true,
  async run(values, positionals, ctx) {
    if (positionals.length === 0) throw new ConfigError('predict: give at least one IMAGE or FOLDER');
    const classifier = stringFlag(values, 'model');
    if (classifier?.endsWith('.onnx')) {
      const files = (await Promise.all(positionals.map((p) => imageFiles(path.resolve(p))))).flat();
      return printPredictions(
        await predictWithClassifierFile(classifier, files, positiveInt(values, 'top') ?? 1, ctx),
        ctx.json,
      );
    }
    const deps = local(values, ctx, 'predict');
    const headPath = path.resolve(stringFlag(values, 'head') ?? path.join(deps.outDir, HEAD_KEY));
    const artefact = await readHeadFile(headPath);
    const found = await deps.registry.lookup(stringFlag(values, 'model') ?? artefact.model.name, deps.modelsDirs);
    const registered = modelForHead(withDecode(found, decodeSetting(values, ctx)), artefact);
    const files = (await Promise.all(positionals.map((p) => imageFiles(path.resolve(p))))).flat();
    const results = await predict(
      { model: registered, head: artefact, openEmbedder: deps.openEmbedder, onProgress: ctx.progress },
      files.map((file) => ({ key: file, read: () => readImageFile(file) })),
      positiveInt(values, 'top') ?? 1,
    );
    ctx.progress.end();
    return printPredictions(results, ctx.json);
  },
};

const verifyCommand: CliCommand = {
  name: 'verify',
  summary:
    'check every cached shard of a workspace against its checksum; --repair re-extracts damaged ones (exit 0 = clean)',
  options: { ...out, ...model, data: { type: 'string' }, repair: { type: 'boolean', default: false } },
  usage: 'verify --out DIR [--repair] [--data DIR]',
  example: 'cnn-codes verify --out cnn-codes-out/hymenoptera --repair',
  flagDocs: {
    repair: {
      text: 'delete damaged shards and re-extract their rows from the dataset (the manifest names it, or --data)',
    },
    data: {
      arg: 'DIR',
      text: 'with --repair: the dataset to re-extract from, when it moved since the manifest was written',
    },
  },
  async run(values, _positionals, ctx) {
    const repair = values.repair === true;
    const deps = local(values, ctx, 'verify', true);
    try {
      const report = await verifyWorkspace(deps, { remove: repair });
      if (report.clean) return printVerify(report, undefined, deps.outDir, ctx.json);
      for (const d of report.damaged)
        process.stderr.write(
          `cnn-codes: ${repair ? 'removed' : 'damaged'}: ${d.location}: ${d.reason} (${d.rows} rows)\n`,
        );
      if (!repair)
        throw new DataError(
          `verify: not clean: ${verifySummary(report)}; "cnn-codes verify --out ${deps.outDir} --repair" re-extracts them`,
        );
      const openDataset = async (dataDir: string, model: string) =>
        (await withData({ ...values, data: dataDir, model }, ctx, 'verify', deps)).extractDeps;
      const repaired = await whileInterruptible((signal) =>
        repairWorkspace(
          { ...deps, openDataset },
          {
            ...optional('data', stringFlag(values, 'data')),
            ...optional('model', stringFlag(values, 'model')),
            signal,
          },
        ),
      );
      ctx.progress.end();
      return printVerify(report, repaired.embedded, deps.outDir, ctx.json);
    } finally {
      deps.stamps?.close();
    }
  },
};

const modelsCommand: CliCommand = {
  name: 'models',
  summary: 'list known models and the folders searched for their files',
  usage: 'models [--models-dir DIR]',
  example: 'cnn-codes models --json',
  options: { 'models-dir': { type: 'string', multiple: true } },
  async run(values, _positionals, ctx) {
    const deps = local({ ...values, out: '.' }, ctx, 'models');
    return printModels(deps.registry, deps.modelsDirs, ctx.json);
  },
};

async function imageFiles(target: string): Promise<string[]> {
  const stat = await fs.stat(target).catch(() => undefined);
  if (!stat) throw new DataError(`no such file or folder: ${target}`);
  // A FIFO, socket or device named as an image goes on to be a reject of kind 'unreadable' (never opened for reading).
  if (!stat.isDirectory()) return [target];
  const entries = await fs.readdir(target, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
    .sort();
}

export const LOCAL_COMMANDS: CliCommand[] = [
  runCommand,
  extractCommand,
  trainCommand,
  evaluateCommand,
  predictCommand,
  verifyCommand,
  modelsCommand,
];
