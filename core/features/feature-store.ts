import { createHash } from 'node:crypto';
import type { BlobStore } from '../ports/blob-store.js';
import type { EmbedFailure } from '../ports/embedder.js';
import type { ModelDescriptor } from '../models/descriptor.js';
import { cudaVariant, type Target } from '../models/targets.js';
import { DataError } from '../errors.js';
import { decodeNpy, encodeNpy } from './npy.js';

/**
 * Content-addressed code cache. A namespace is one (model bytes, cut point, preprocessing) triple; inside it a code is
 * found by the sha256 of the image bytes, so renaming or re-listing images never re-extracts them, and two datasets
 * sharing images share codes. Shards are immutable: `<ns>/shards/<id>.npy` (float32 [rows, dim]) and
 * `<ns>/shards/<id>.json` (row → content hash, plus images that could not be decoded). The .json is written last, so
 * a shard whose .json exists is complete.
 */

// 2: int8 weights are stored so onnxruntime picks an exact kernel on AVX2 CPUs (see core/models/onnx-int8-weights.ts).
export const FEATURE_FORMAT_VERSION = 2;

export interface NamespaceInfo {
  id: string;
  model: string;
  modelSha256: string;
  cut: string;
  dim: number;
}

export interface CodeLocation {
  shard: string;
  row: number;
}

export interface ShardIndex {
  version: number;
  namespace: string;
  dim: number;
  rows: string[];
  rejects: Array<{ contentHash: string } & EmbedFailure>;
}

/**
 * Where a model's codes for one cut point live. The key covers everything that changes them; codes of the GPU graph
 * (`target` cuda: float, float16 where the descriptor says so) differ a little from the int8 ones and live apart, so
 * one cache never mixes the two. CPU keys are the same as before targets existed.
 */
export function namespaceOf(descriptor: ModelDescriptor, cut: string, target: Target = 'cpu'): NamespaceInfo {
  const spec = descriptor.cutPoints[cut];
  if (!spec) throw new DataError(`${descriptor.name} has no cut point "${cut}"`);
  const key = JSON.stringify({
    format: FEATURE_FORMAT_VERSION,
    model: descriptor.sha256,
    tensor: spec.tensor,
    layout: spec.layout ?? 'NCHW',
    dequantize: spec.dequantize ?? null,
    input: descriptor.input,
    preprocess: descriptor.preprocess,
    ...(target === 'cpu' ? {} : { graph: { target, ...cudaVariant(descriptor) } }),
  });
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return { id: `${descriptor.name}/${cut}-${hash}`, model: descriptor.name, modelSha256: descriptor.sha256, cut, dim: spec.dim };
}

/** What a namespace already holds: content hash → code location, and content hashes known to be undecodable. */
export class CodeIndex {
  readonly namespace: NamespaceInfo;
  readonly codes = new Map<string, CodeLocation>();
  readonly rejects = new Map<string, EmbedFailure>();

  constructor(namespace: NamespaceInfo) {
    this.namespace = namespace;
  }

  has(contentHash: string): boolean {
    return this.codes.has(contentHash) || this.rejects.has(contentHash);
  }

  addShard(shardId: string, index: ShardIndex): void {
    index.rows.forEach((hash, row) => {
      if (!this.codes.has(hash)) this.codes.set(hash, { shard: shardId, row });
    });
    for (const r of index.rejects) this.rejects.set(r.contentHash, { kind: r.kind, message: r.message });
  }
}

export class FeatureStore {
  private readonly store: BlobStore;
  private readonly prefix: string;
  private readonly shardCache = new Map<string, Float32Array>();

  constructor(store: BlobStore, prefix = 'codes') {
    this.store = store;
    this.prefix = prefix.replace(/\/+$/, '');
  }

  get location(): string {
    return `${this.store.location}/${this.prefix}`;
  }

  shardKey(ns: NamespaceInfo, shardId: string, ext: 'npy' | 'json'): string {
    return `${this.prefix}/${ns.id}/shards/${shardId}.${ext}`;
  }

  async loadIndex(ns: NamespaceInfo): Promise<CodeIndex> {
    const index = new CodeIndex(ns);
    const dir = `${this.prefix}/${ns.id}/shards/`;
    const ids: string[] = [];
    for await (const blob of this.store.list(dir)) {
      if (blob.key.endsWith('.json')) ids.push(blob.key.slice(dir.length, -'.json'.length));
    }
    await Promise.all(
      ids.map(async (id) => {
        const shard = await this.store.getJson<ShardIndex>(`${dir}${id}.json`);
        if (shard) index.addShard(id, shard);
      }),
    );
    return index;
  }

  /**
   * Writes one immutable shard. Its id is the hash of its contents, so writing the same rows twice (a redelivered
   * message, a retried worker) produces the same key and changes nothing.
   */
  async writeShard(ns: NamespaceInfo, rows: string[], codes: Float32Array, rejects: ShardIndex['rejects']): Promise<string> {
    if (codes.length !== rows.length * ns.dim) throw new DataError(`shard has ${codes.length} values for ${rows.length} × ${ns.dim}`);
    const hash = createHash('sha256').update(ns.id).update(JSON.stringify(rows)).update(JSON.stringify(rejects));
    hash.update(new Uint8Array(codes.buffer, codes.byteOffset, codes.byteLength));
    const shardId = hash.digest('hex').slice(0, 20);
    const index: ShardIndex = { version: FEATURE_FORMAT_VERSION, namespace: ns.id, dim: ns.dim, rows, rejects };
    if (!(await this.store.exists(this.shardKey(ns, shardId, 'json')))) {
      await this.store.put(this.shardKey(ns, shardId, 'npy'), encodeNpy(codes, [rows.length, ns.dim]));
      await this.store.put(this.shardKey(ns, shardId, 'json'), JSON.stringify(index));
    }
    return shardId;
  }

  /** Gathers the codes at `locations` into one row-major [locations.length × dim] matrix. */
  async readCodes(ns: NamespaceInfo, locations: readonly CodeLocation[]): Promise<Float32Array> {
    const out = new Float32Array(locations.length * ns.dim);
    const shards = new Map<string, Float32Array>();
    await Promise.all(
      [...new Set(locations.map((l) => l.shard))].map(async (id) => shards.set(id, await this.readShard(ns, id))),
    );
    locations.forEach((loc, i) => {
      const shard = shards.get(loc.shard)!;
      out.set(shard.subarray(loc.row * ns.dim, (loc.row + 1) * ns.dim), i * ns.dim);
    });
    return out;
  }

  private async readShard(ns: NamespaceInfo, shardId: string): Promise<Float32Array> {
    const key = this.shardKey(ns, shardId, 'npy');
    const cached = this.shardCache.get(key);
    if (cached) return cached;
    const { data, shape } = decodeNpy(await this.store.get(key));
    if (!(data instanceof Float32Array) || shape[1] !== ns.dim) throw new DataError(`shard ${key} is not float32 [rows, ${ns.dim}]`);
    this.shardCache.set(key, data);
    return data;
  }
}
