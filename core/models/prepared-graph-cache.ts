import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { errorMessage, ModelError } from '../errors.js';
import type { ModelDescriptor } from './descriptor.js';
import type { TargetGraph } from './prepare-target.js';
import { cudaVariant, type Target } from './targets.js';
import { chooseInt8Weights, type Int8WeightEncoding, type Int8WeightsSetting } from './int8-weights-choice.js';

/**
 * Bump when the surgery (prepare-target.ts and what it calls) changes what it writes: old entries then simply stop
 * being found (the key changes), nothing needs deleting.
 */
export const PREPARE_VERSION = 3;

/** A prepared graph ready for a session: a file when it came from (or went into) the cache, else bytes. */
export interface PreparedGraphSource {
  key: string;
  inputName: string;
  outputs: Record<string, string>;
  precision: TargetGraph['precision'];
  /** CPU: the int8 weight encoding the graph was prepared with. */
  int8Weights?: Int8WeightEncoding;
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
  /**
   * CPU: how int8 weights are stored ('auto', the default: as shipped where this CPU's u8·s8 kernel is exact, else
   * uint8). Each encoding has its own entries.
   */
  int8Weights?: Int8WeightsSetting;
}

/**
 * Content address of a prepared graph: everything the surgery reads. The model by its sha256 (verified by
 * `resolveModelFile` before we get here), each cut point's spec, the input format and in-graph normalization, the
 * target, the int8 weight encoding (CPU) and the surgery's version.
 */
export function preparedGraphKey(
  descriptor: ModelDescriptor,
  cuts: readonly string[],
  target: Target,
  int8Weights: Int8WeightEncoding = 'uint8',
): string {
  const { scale, mean, std } = descriptor.preprocess;
  const identity = {
    // The whole CUDA variant (precision, activations): a changed choice must not find the old graph.
    variant: target === 'cuda' ? cudaVariant(descriptor) : 'as-shipped',
    ...(target === 'cpu' ? { int8Weights } : {}),
    version: PREPARE_VERSION,
    model: descriptor.sha256,
    cuts: cuts.map((cut) => [cut, descriptor.cutPoints[cut] ?? null]),
    input: descriptor.input,
    normalize: { scale, mean, std },
    target,
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

type CacheEntryMeta = Pick<
  PreparedGraphSource,
  'key' | 'inputName' | 'outputs' | 'precision' | 'descriptor' | 'int8Weights'
>;

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
  const int8Weights = chooseInt8Weights(options.int8Weights ?? 'auto');
  const key = preparedGraphKey(descriptor, cuts, target, int8Weights);
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
  const prepared = (await import('./prepare-target.js')).prepareForTarget(
    modelBytes,
    descriptor,
    cuts,
    target,
    {},
    int8Weights,
  );
  const meta: CacheEntryMeta = {
    key,
    inputName: prepared.inputName,
    outputs: prepared.outputs,
    precision: prepared.precision,
    ...(prepared.int8Weights ? { int8Weights: prepared.int8Weights } : {}),
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
      ...(meta.int8Weights === 'as-shipped' || meta.int8Weights === 'uint8' ? { int8Weights: meta.int8Weights } : {}),
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
