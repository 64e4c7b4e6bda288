import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Stage } from '../aws/names.js';
import { ENV } from '../contracts/cross-process.js';
import { parseDecodeSetting, type DecodeSetting } from '../core/models/descriptor.js';
import { parseInt8WeightsSetting, type Int8WeightsSetting } from '../core/models/int8-weights-choice.js';
import { queueUrlsFromEnv } from '../functions/shared/settings.js';

/** The one place the CLI reads the environment; the core only ever receives plain values. */
export interface CliEnvironment {
  /** `<shared>`: the read-only folder with pretrained models and the demo data. */
  sharedDir: string;
  /** Extra models folders from CNN_CODES_MODELS_DIR (path-list). */
  modelsDirs: string[];
  /** Per-user download cache for model files. */
  modelCacheDir: string;
  /** Prepared (cut, uint8-input, int8-fixed) graphs, content-addressed, so start-up skips the graph surgery. */
  preparedGraphCacheDir: string;
  /** CNN_CODES_WEIGHT_ENCODING: auto (default) | as-shipped | uint8, the CPU graph's int8 weight encoding. */
  int8Weights: Int8WeightsSetting;
  /** CNN_CODES_DECODE: exact (default) | fast (near-exact), how JPEGs are decoded; `--decode` overrides it. */
  decode: DecodeSetting;
  /**
   * A deployment's bucket and queues, from the variables the CDK stack's RuntimeEnvironment output lists
   * (CNN_CODES_BUCKET, CNN_CODES_<STAGE>_QUEUE_URL): with them exported, submit/status/worker talk to that stack.
   */
  deployment: { bucket?: string; queueUrls: Partial<Record<Stage, string>> };
  /** CNN_CODES_EMBED_LOG: where to log the content hashes sent to the backbone (bench/scale's kill test). */
  embedLog?: string;
}

export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): CliEnvironment {
  const sharedDir = path.resolve(env[ENV.shared] ?? path.join(PACKAGE_ROOT, '..', 'shared'));
  const modelsDirs = (env[ENV.modelsDir] ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((d) => path.resolve(d));
  const sharedModels = path.join(sharedDir, 'models');
  if (existsSync(sharedModels)) modelsDirs.push(sharedModels);
  const cacheHome = env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache');
  const bucket = env[ENV.bucket];
  const embedLog = env[ENV.embedLog];
  return {
    sharedDir,
    modelsDirs,
    modelCacheDir: path.resolve(env[ENV.modelCache] ?? path.join(cacheHome, 'cnn-codes', 'models')),
    preparedGraphCacheDir: path.join(cacheHome, 'cnn-codes', 'prepared'),
    int8Weights: parseInt8WeightsSetting(env[ENV.int8Weights], ENV.int8Weights),
    decode: parseDecodeSetting(env[ENV.decode], ENV.decode),
    deployment: { ...(bucket ? { bucket } : {}), queueUrls: queueUrlsFromEnv(env) },
    ...(embedLog ? { embedLog: path.resolve(embedLog) } : {}),
  };
}
