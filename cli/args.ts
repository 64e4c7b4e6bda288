import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../core/errors.js';

export const COMMANDS = ['run', 'extract', 'train', 'evaluate', 'predict', 'models'] as const;
export type Command = (typeof COMMANDS)[number];

type Options = NonNullable<ParseArgsConfig['options']>;

const common: Options = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};
const data: Options = { data: { type: 'string' } };
const out: Options = { out: { type: 'string' } };
const model: Options = {
  model: { type: 'string' },
  'models-dir': { type: 'string', multiple: true },
  'allow-download': { type: 'boolean', default: false },
  cache: { type: 'string' },
  workers: { type: 'string' },
  'batch-size': { type: 'string' },
  provider: { type: 'string' },
};
const layer: Options = { layer: { type: 'string' } };
const head: Options = {
  head: { type: 'string' },
  C: { type: 'string' },
  folds: { type: 'string' },
  seed: { type: 'string' },
  'class-weight': { type: 'string' },
  'val-fraction': { type: 'string' },
};

export const COMMAND_OPTIONS: Record<Command, Options> = {
  run: { ...common, ...data, ...out, ...model, ...layer, ...head, split: { type: 'string' } },
  extract: { ...common, ...data, ...out, ...model, ...layer, seed: { type: 'string' }, 'val-fraction': { type: 'string' } },
  train: { ...common, ...out, ...layer, ...head, cache: { type: 'string' } },
  evaluate: { ...common, ...out, split: { type: 'string' }, cache: { type: 'string' } },
  predict: { ...common, ...out, ...model, head: { type: 'string' }, top: { type: 'string' } },
  models: { ...common, 'models-dir': { type: 'string', multiple: true } },
};

export interface ParsedArgs {
  command: Command;
  values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  positionals: string[];
}

export function parseCommandLine(argv: string[]): ParsedArgs | { help: true; command?: Command } {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') return { help: true };
  if (!(COMMANDS as readonly string[]).includes(first)) {
    throw new ConfigError(`unknown command "${first}". Commands: ${COMMANDS.join(', ')}. Try: cnn-codes --help`);
  }
  const command = first as Command;
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: COMMAND_OPTIONS[command], strict: true, allowPositionals: command === 'predict' });
  } catch (err) {
    throw new ConfigError(`${command}: ${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}`);
  }
  if (parsed.values.help) return { help: true, command };
  return { command, values: parsed.values, positionals: parsed.positionals };
}

export function numberFlag(values: ParsedArgs['values'], name: string, check: (n: number) => boolean, what: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || !check(n)) {
    throw new ConfigError(`--${name} must be ${what}, got "${String(raw)}"`);
  }
  return n;
}

export function choiceFlag<T extends string>(values: ParsedArgs['values'], name: string, choices: readonly T[]): T | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !(choices as readonly string[]).includes(raw)) {
    throw new ConfigError(`--${name} must be one of ${choices.join(', ')}, got "${String(raw)}"`);
  }
  return raw as T;
}

export const HELP = `cnn-codes: transfer learning on images with cached CNN codes

Usage: cnn-codes <command> [options]

Commands:
  run       extract codes, train a head with CV on train, evaluate on val  (--data required)
  extract   images → cached codes (incremental: unchanged images are never re-embedded)
  train     fit a head on cached train codes; C (and layer/head with "auto") chosen by stratified k-fold CV
  evaluate  score the head on a held-out split and write metrics.json + report.md
  predict   label new images: cnn-codes predict IMAGE|FOLDER [--out DIR | --head head.json]
  models    list known models and where their files are

Data layout (ImageFolder): DATA/<split>/<class>/<image> or DATA/<class>/<image> (then a seeded stratified split).

Options:
  --data DIR             dataset folder
  --out DIR              workspace for manifest, codes, head, metrics and report (default: cnn-codes-out/<data name>)
  --cache DIR            put the content-addressed code cache here instead of <out>/codes (shareable)
  --model NAME|FILE      model name or descriptor .json (default: mobilenetv2-12-int8)
  --models-dir DIR       extra folder to look for models in (repeatable; also CNN_CODES_MODELS_DIR)
  --allow-download       fetch a model by its descriptor URL (verified by sha256) when not found locally
  --layer NAME           cut point: final (default), another named layer, comma list (extract), all, or auto (train/run)
  --head KIND            logistic (default), svm, or auto
  --C NUMBER             fix C instead of choosing it by cross-validation
  --folds N, --seed N    cross-validation folds (default 5) and seed (default 0)
  --class-weight balanced
  --val-fraction F       share of each class held out when the data has no val folder (default 0.2)
  --split NAME           split to evaluate (default val)
  --workers N            extraction worker threads (default: one per core)
  --batch-size N         images per inference batch (default 8)
  --provider cpu|cuda    onnxruntime execution provider (default cpu)
  --top K                predict: labels to show per image (default 1)
  --json                 machine-readable result on stdout, no progress
  -h, --help             this help

Environment: CNN_CODES_SHARED (default ../shared beside the package: models/ and data/), CNN_CODES_MODELS_DIR,
CNN_CODES_MODEL_CACHE (downloaded models, default ~/.cache/cnn-codes/models).
`;
