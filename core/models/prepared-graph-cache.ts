import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { errorMessage, ModelError } from '../errors.js';
import type { ModelDescriptor } from './descriptor.js';
import type { TargetGraph } from './prepare-target.js';
import { cudaVariant, type Target } from './targets.js';

/**
 * Bump when the surgery (prepare-target.ts and what it calls) changes what it writes: old entries then simply stop
 * being found (the key changes), nothing needs deleting.
 */
export const PREPARE_VERSION = 2;

/** A prepared graph ready for a session: a file when it came from (or went into) the cache, else bytes. */
export interface PreparedGraphSource {
  key: string;
  inputName: string;
  outputs: Record<string, string>;
  precision: TargetGraph['precision'];
  /** The descriptor the graph answers to (on CUDA: dynamic batch, renamed cut tensors). */
  descriptor: ModelDescriptor;
  path?: string;
  bytes?: Uint8Array;
  /** True when the cache already held it (no surgery this time). */
  cached: boolean;
}

export interface PrepareOptions {
  /** Where prepared graphs are kept (the CLI passes `~/.cache/cnn-codes/prepared`); none: prepare in memory. */
  cacheDir?: string;
  /** 'cpu' (the int8 graph, default) or 'cuda' (the float graph of `prepareForTarget`): each has its own entries. */
  target?: Target;
}

/**
 * Content address of a prepared graph: everything the surgery reads. The model by its sha256 (verified by
 * `resolveModelFile` before we get here), each cut point's spec, the input format and in-graph normalization, the
 * target and the surgery's version.
 */
export function preparedGraphKey(descriptor: ModelDescriptor, cuts: readonly string[], target: Target): string {
  const { scale, mean, std } = descriptor.preprocess;
  const identity = {
    // The whole CUDA variant (precision, activations): a changed choice must not find the old graph.
    variant: target === 'cuda' ? cudaVariant(descriptor) : 'as-shipped',
    version: PREPARE_VERSION,
    model: descriptor.sha256,
    cuts: cuts.map((cut) => [cut, descriptor.cutPoints[cut] ?? null]),
    input: descriptor.input,
    normalize: { scale, mean, std },
    target,
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

type CacheEntryMeta = Pick<PreparedGraphSource, 'key' | 'inputName' | 'outputs' | 'precision' | 'descriptor'>;

/**
 * The prepared graph for (model, cuts, target): from the cache when there, else built once and stored. The `.onnx`
 * is renamed into place before its `.json`, and only a `.json` marks an entry complete, so a crash or a concurrent
 * writer never leaves a half-written graph that a later run would load. A cache that cannot be written only costs
 * the next run the surgery again.
 */
export async function loadPreparedGraph(
  modelPath: string,
  descriptor: ModelDescriptor,
  cuts: readonly string[],
  options: PrepareOptions = {},
): Promise<PreparedGraphSource> {
  const target = options.target ?? 'cpu';
  const key = preparedGraphKey(descriptor, cuts, target);
  const files = options.cacheDir ? entryFiles(options.cacheDir, key) : undefined;
  if (files) {
    const hit = await readEntry(files, key);
    if (hit) return { ...hit, path: files.graph, cached: true };
  }
  let modelBytes: Uint8Array;
  try {
    modelBytes = await fs.readFile(modelPath);
  } catch (err) {
    throw new ModelError(`cannot read model file ${modelPath}: ${errorMessage(err)}`, { cause: err });
  }
  // The surgery (and protobufjs behind it) is loaded only on a cache miss.
  const prepared = (await import('./prepare-target.js')).prepareForTarget(modelBytes, descriptor, cuts, target);
  const meta: CacheEntryMeta = {
    key,
    inputName: prepared.inputName,
    outputs: prepared.outputs,
    precision: prepared.precision,
    descriptor: prepared.descriptor,
  };
  const source: PreparedGraphSource = { ...meta, bytes: prepared.bytes, cached: false };
  if (!files) return source;
  try {
    await fs.mkdir(path.dirname(files.graph), { recursive: true });
    await writeAtomically(files.graph, prepared.bytes);
    await writeAtomically(files.meta, JSON.stringify(meta));
    return { ...source, path: files.graph };
  } catch {
    return source;
  }
}

function entryFiles(cacheDir: string, key: string): { graph: string; meta: string } {
  return { graph: path.join(cacheDir, `${key}.onnx`), meta: path.join(cacheDir, `${key}.json`) };
}

async function readEntry(files: { graph: string; meta: string }, key: string): Promise<CacheEntryMeta | undefined> {
  try {
    const meta = JSON.parse(await fs.readFile(files.meta, 'utf8')) as Partial<CacheEntryMeta>;
    if (
      meta.key !== key ||
      typeof meta.inputName !== 'string' ||
      typeof meta.outputs !== 'object' ||
      meta.outputs === null
    )
      return undefined;
    if (typeof meta.descriptor !== 'object' || meta.descriptor === null || typeof meta.precision !== 'string')
      return undefined;
    if (!(await fs.stat(files.graph)).isFile()) return undefined;
    return {
      key,
      inputName: meta.inputName,
      outputs: meta.outputs,
      precision: meta.precision,
      descriptor: meta.descriptor,
    };
  } catch {
    return undefined;
  }
}

async function writeAtomically(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${randomUUID()}.tmp`;
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
