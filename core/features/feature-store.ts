import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { BlobInfo, BlobStore } from '../ports/blob-store.js';
import type { EmbedFailure } from '../ports/embedder.js';
import type { ModelDescriptor } from '../models/descriptor.js';
import { cudaVariant, type Target } from '../models/targets.js';
import { DamagedShardError, DataError } from '../errors.js';
import { forEachConcurrent } from '../util/concurrency.js';
import { isStampable, type StampIndex } from '../workspace/stamp-index.js';
import { decodeNpy, encodeNpy } from './npy.js';

/**
 * Content-addressed code cache. A namespace is one (model bytes, cut point, preprocessing) triple; inside it a code is
 * found by the sha256 of the image bytes, so renaming or re-listing images never re-extracts them, and two datasets
 * sharing images share codes. Shards are immutable: `<ns>/shards/<id>.npy` (float32 [rows, dim]) and
 * `<ns>/shards/<id>.json` (row → content hash, plus images that could not be decoded, plus the .npy's size and CRC-32).
 * The .json is written last, so a shard whose .json exists is complete; one whose .npy is missing, short or fails its
 * checksum is damaged: it is reported by name, deleted, and its rows are extracted again.
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
  /** Size and CRC-32 of the .npy file (absent in shards written before checksums: those get a size check only). */
  bytes?: number;
  /**
   * Per row, the store identity of the bytes it was computed from ("<etag>/<size>", checked against the bytes read),
   * or null: lets a worker that knows an object's identity from a listing or an S3 notice find its codes unread.
   */
  sources?: Array<string | null>;
  crc32?: number;
}

export interface LoadIndexOptions {
  /** Read and checksum every shard, trusting no stamp (`--verify`, `cnn-codes verify`). */
  verify?: boolean;
  /** Called once per damaged shard, after its files were removed so its rows get extracted again. */
  onDamaged?: (damage: ShardDamage) => void;
  /** Remove damaged shards (default true); false only reports them (`cnn-codes verify` without --repair). */
  remove?: boolean;
  /** Called for every sound shard (verify counts those written before checksums). */
  onShard?: (id: string, shard: ShardIndex) => void;
}

export interface ShardDamage {
  /** The damaged shard's .npy key, relative to the store. */
  key: string;
  location: string;
  reason: string;
  rows: number;
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
  return {
    id: `${descriptor.name}/${cut}-${hash}`,
    model: descriptor.name,
    modelSha256: descriptor.sha256,
    cut,
    dim: spec.dim,
  };
}

/** What a namespace already holds: content hash → code location, and content hashes known to be undecodable. */
export class CodeIndex {
  readonly namespace: NamespaceInfo;
  readonly codes = new Map<string, CodeLocation>();
  readonly rejects = new Map<string, EmbedFailure>();
  /** Store identity ("<etag>/<size>") → content hash, from the shards that recorded where their rows came from. */
  readonly sources = new Map<string, string>();

  constructor(namespace: NamespaceInfo) {
    this.namespace = namespace;
  }

  has(contentHash: string): boolean {
    return this.codes.has(contentHash) || this.rejects.has(contentHash);
  }

  addShard(shardId: string, index: ShardIndex): void {
    index.rows.forEach((hash, row) => {
      if (!this.codes.has(hash)) this.codes.set(hash, { shard: shardId, row });
      const source = index.sources?.[row];
      if (source) this.sources.set(source, hash);
    });
    for (const r of index.rejects) this.rejects.set(r.contentHash, { kind: r.kind, message: r.message });
  }
}

/**
 * Where a feature store learns what a namespace holds, instead of listing and checking its shard folder: a long-lived
 * worker's catalog reads one object naming the shards and keeps every shard's .json it has seen (see
 * core/features/shard-list-catalog.ts).
 */
export interface ShardCatalog {
  /** What the namespace holds: takes the place of `loadIndex`'s listing and checks. */
  loadIndex(ns: NamespaceInfo): Promise<CodeIndex>;
  /** Called with every shard the store wrote, once its files are in place. */
  added(ns: NamespaceInfo, shardId: string, index: ShardIndex): Promise<void>;
  /** A shard's .json when the catalog holds it (read without a GET), else undefined. */
  shardIndex(ns: NamespaceInfo, shardId: string): ShardIndex | undefined;
}

/** Where a shard's files live under a cache's prefix: `<prefix>/<ns>/shards/<id>.<ext>`. */
export function shardKeyOf(prefix: string, ns: NamespaceInfo, shardId: string, ext: 'npy' | 'json'): string {
  return `${prefix}/${ns.id}/shards/${shardId}.${ext}`;
}

export class FeatureStore {
  private readonly store: BlobStore;
  private readonly prefix: string;
  private readonly stamps: StampIndex | undefined;
  private readonly catalog: ShardCatalog | undefined;
  /** Decoded shards kept for the next pass over them (see KEPT_SHARD_BYTES), by namespace and shard id. */
  private readonly kept = new Map<string, Float32Array>();
  private keptBytes = 0;

  /**
   * `stamps` remembers which shard versions were checked, so a re-run stats shards instead of reading them; without
   * it (object stores, where reading every shard costs a GET each) shards get the size check only. `catalog`, when
   * given, says what each namespace holds instead of a listing, and is told of every shard written.
   */
  constructor(store: BlobStore, prefix = 'codes', stamps?: StampIndex, catalog?: ShardCatalog) {
    this.store = store;
    this.prefix = prefix.replace(/\/+$/, '');
    this.stamps = stamps;
    this.catalog = catalog;
  }

  get location(): string {
    return `${this.store.location}/${this.prefix}`;
  }

  shardKey(ns: NamespaceInfo, shardId: string, ext: 'npy' | 'json'): string {
    return shardKeyOf(this.prefix, ns, shardId, ext);
  }

  async loadIndex(ns: NamespaceInfo, options: LoadIndexOptions = {}): Promise<CodeIndex> {
    if (this.catalog) return this.catalog.loadIndex(ns);
    const index = new CodeIndex(ns);
    const dir = `${this.prefix}/${ns.id}/shards/`;
    const files = new Map<string, { json?: BlobInfo; npy?: BlobInfo }>();
    // Readability is not asked: a shard that cannot be read fails its read, which names it.
    for await (const blob of this.store.list(dir, { checkReadable: false })) {
      const ext = blob.key.endsWith('.json') ? 'json' : blob.key.endsWith('.npy') ? 'npy' : undefined;
      if (!ext) continue;
      const id = blob.key.slice(dir.length, -(ext.length + 1));
      files.set(id, { ...files.get(id), [ext]: blob });
    }
    const now = Date.now();
    // Sorted ids, so when two shards hold the same image the same one wins in every process.
    const check = { verify: options.verify === true, remove: options.remove !== false };
    const listed = [...files].filter(([, f]) => f.json).sort(([a], [b]) => (a < b ? -1 : 1));
    // Every shard's stamp in one pass over the index (a re-run over unchanged data trusts them all).
    const versioned = check.verify ? [] : listed.filter(([, f]) => shardVersion(f.json!, f.npy));
    const found = this.stamps?.getMany(
      versioned.map(([id, f]) => ({ key: this.stampKey(ns, id), version: shardVersion(f.json!, f.npy)! })),
    );
    const stamped = new Map(versioned.map(([id], i) => [id, found?.[i]]));
    // Unchanged since it was checked: its stamp holds its index (no promise per shard for the common case). The others
    // are read and checked SHARD_CHECKS at a time: all at once, `verify` at 25 k shards ran out of file descriptors.
    const checked: Array<{ id: string; shard?: ShardIndex; damage?: ShardDamage }> = listed.map(([id]) => {
      const stamp = stamped.get(id);
      return stamp ? { id, shard: JSON.parse(stamp) as ShardIndex } : { id };
    });
    const unchecked = listed.flatMap(([id, f], i) => (stamped.get(id) ? [] : [{ i, id, f }]));
    await forEachConcurrent(unchecked, SHARD_CHECKS, async ({ i, id, f }) => {
      checked[i] = { id, ...(await this.checkShard(ns, id, f.json!, f.npy, now, check)) };
    });
    for (const { id, shard, damage } of checked) {
      if (shard) index.addShard(id, shard);
      if (shard) options.onShard?.(id, shard);
      if (damage) options.onDamaged?.(damage);
    }
    return index;
  }

  /** Where a shard's checked index is stamped: its .npy's location. */
  private stampKey(ns: NamespaceInfo, id: string): string {
    return `${this.store.location}/${this.shardKey(ns, id, 'npy')}`;
  }

  /**
   * A shard as listed and not stamped → its row index, or the damage found (its files then removed, so its rows are
   * re-extracted).
   */
  private async checkShard(
    ns: NamespaceInfo,
    id: string,
    json: BlobInfo,
    npy: BlobInfo | undefined,
    now: number,
    { verify, remove }: { verify: boolean; remove: boolean },
  ): Promise<{ shard?: ShardIndex; damage?: ShardDamage }> {
    const npyKey = this.shardKey(ns, id, 'npy');
    const stampKey = this.stampKey(ns, id);
    const version = shardVersion(json, npy);
    const shard = await this.store.getJson<ShardIndex>(json.key);
    if (!shard) return {}; // removed since the listing (a concurrent repair): nothing to index
    const reason = !npy
      ? 'its .npy file is missing'
      : shard.bytes !== undefined && npy.size !== shard.bytes
        ? `its .npy file is ${npy.size} bytes, ${shard.bytes} expected (truncated or overwritten)`
        : (verify || this.stamps) && shard.crc32 !== undefined
          ? await this.checksumProblem(npyKey, shard.crc32)
          : undefined;
    if (reason) {
      if (remove) {
        await this.store.delete(json.key);
        await this.store.delete(npyKey);
        this.stamps?.delete(stampKey);
      }
      return { damage: { key: npyKey, location: `${this.store.location}/${npyKey}`, reason, rows: shard.rows.length } };
    }
    if (version && isStampable(Math.max(npy!.modifiedMs ?? 0, json.modifiedMs ?? 0), now))
      this.stamps?.set(stampKey, version, JSON.stringify(shard));
    return { shard };
  }

  private async checksumProblem(npyKey: string, expected: number): Promise<string | undefined> {
    const actual = crc32(await this.store.get(npyKey));
    return actual === expected
      ? undefined
      : `its rows fail their checksum (CRC-32 ${hex(actual)}, ${hex(expected)} expected)`;
  }

  /**
   * Writes one immutable shard. Its id is the hash of its contents, so writing the same rows twice (a redelivered
   * message, a retried worker) produces the same key and changes nothing.
   */
  async writeShard(
    ns: NamespaceInfo,
    rows: string[],
    codes: Float32Array,
    rejects: ShardIndex['rejects'],
    sources?: Array<string | null>,
  ): Promise<string> {
    if (codes.length !== rows.length * ns.dim)
      throw new DataError(`shard has ${codes.length} values for ${rows.length} × ${ns.dim}`);
    const hash = createHash('sha256').update(ns.id).update(JSON.stringify(rows)).update(JSON.stringify(rejects));
    const recorded = sources?.some((s) => s !== null) ? { sources } : {};
    if (recorded.sources) hash.update(JSON.stringify(recorded.sources));
    hash.update(new Uint8Array(codes.buffer, codes.byteOffset, codes.byteLength));
    const shardId = hash.digest('hex').slice(0, 20);
    // Written without asking first whether it exists: a twin write puts the same bytes under the same keys (each put
    // is atomic), and the HEAD it saves is one of the dozen requests an ingest batch costs.
    const npy = encodeNpy(codes, [rows.length, ns.dim]);
    const index: ShardIndex = {
      version: FEATURE_FORMAT_VERSION,
      namespace: ns.id,
      dim: ns.dim,
      rows,
      rejects,
      bytes: npy.byteLength,
      crc32: crc32(npy),
      ...recorded,
    };
    await this.store.put(this.shardKey(ns, shardId, 'npy'), npy);
    await this.store.put(this.shardKey(ns, shardId, 'json'), JSON.stringify(index));
    await this.stampWritten(ns, shardId, index);
    await this.catalog?.added(ns, shardId, index);
    return shardId;
  }

  /** Our own fresh shard is known good: stamp it now, so the next run does not read it back to checksum it. */
  private async stampWritten(ns: NamespaceInfo, shardId: string, index: ShardIndex): Promise<void> {
    if (!this.stamps || !this.store.info) return;
    const npyKey = this.shardKey(ns, shardId, 'npy');
    const [npy, json] = await Promise.all([
      this.store.info(npyKey),
      this.store.info(this.shardKey(ns, shardId, 'json')),
    ]);
    if (npy?.version && json?.version)
      this.stamps.set(`${this.store.location}/${npyKey}`, `${npy.version}|${json.version}`, JSON.stringify(index));
  }

  /** Gathers the codes at `locations` into one row-major [locations.length × dim] matrix. */
  async readCodes(ns: NamespaceInfo, locations: readonly CodeLocation[]): Promise<Float32Array> {
    const out = new Float32Array(locations.length * ns.dim);
    for await (const chunk of this.chunksInShardOrder(ns, locations)) {
      chunk.positions.forEach((position, i) =>
        out.set(chunk.codes.subarray(i * ns.dim, (i + 1) * ns.dim), position * ns.dim),
      );
    }
    return out;
  }

  /**
   * The codes at `locations` in their own order, `blockRows` rows at a time (`offset`: the block's first position),
   * each read when the caller asks for it: memory holds one block, never the whole list. Not read ahead: the caller
   * runs GEMMs on every core meanwhile, and reads competing with them cost more than they overlap (100k evaluate).
   */
  async *readCodesInBlocks(
    ns: NamespaceInfo,
    locations: readonly CodeLocation[],
    blockRows: number,
  ): AsyncGenerator<{ offset: number; codes: Float32Array }> {
    for (let offset = 0; offset < locations.length; offset += blockRows)
      yield { offset, codes: await this.readCodes(ns, locations.slice(offset, offset + blockRows)) };
  }

  /**
   * The codes at `locations`, one Float32 chunk per shard, in shard order: what out-of-core training reads. Memory
   * holds the shards being read (a few at a time), never the whole cache; `positions[i]` is chunk row i's index into
   * `locations`.
   */
  async *chunksInShardOrder(
    ns: NamespaceInfo,
    locations: readonly CodeLocation[],
    readAhead = 4,
  ): AsyncGenerator<{ shard: string; positions: Int32Array; codes: Float32Array }> {
    const byShard = new Map(positionsByShard(locations));
    const shards = [...byShard.keys()];
    const pending: Array<Promise<Float32Array>> = [];
    for (let i = 0; i < shards.length; i++) {
      while (pending.length <= readAhead && i + pending.length < shards.length) {
        const read = this.readShard(ns, shards[i + pending.length]!);
        read.catch(() => {}); // observed when its turn comes; a failure ahead of it must not be "unhandled" first
        pending.push(read);
      }
      const data = await pending.shift()!;
      const positions = Int32Array.from(byShard.get(shards[i]!)!);
      // Every row of the shard in its own order (the usual case: a training split read whole) needs no gathering copy,
      // which halves the garbage a pass leaves for the collector.
      const whole =
        positions.length * ns.dim === data.length && positions.every((position, r) => locations[position]!.row === r);
      const codes = whole ? data : new Float32Array(positions.length * ns.dim);
      if (!whole) {
        positions.forEach((position, r) => {
          const row = locations[position]!.row;
          codes.set(data.subarray(row * ns.dim, (row + 1) * ns.dim), r * ns.dim);
        });
      }
      yield { shard: shards[i]!, positions, codes };
    }
  }

  /** A shard's .json; a catalog that already holds it (a long-lived worker's) answers without a GET. */
  private shardIndex(ns: NamespaceInfo, shardId: string): Promise<ShardIndex | undefined> {
    const known = this.catalog?.shardIndex(ns, shardId);
    return known ? Promise.resolve(known) : this.store.getJson<ShardIndex>(this.shardKey(ns, shardId, 'json'));
  }

  /**
   * One shard's codes, from the kept ones when a pass before this one read it. Callers own what they get (a copy of
   * a kept shard), as they may normalize it in place.
   */
  private async readShard(ns: NamespaceInfo, shardId: string): Promise<Float32Array> {
    const id = `${ns.id}/${shardId}`;
    const kept = this.kept.get(id);
    if (kept) return kept.slice();
    const data = await this.readShardFromStore(ns, shardId);
    if (this.keptBytes + data.byteLength <= KEPT_SHARD_BYTES && !this.kept.has(id)) {
      this.kept.set(id, data.slice());
      this.keptBytes += data.byteLength;
    }
    return data;
  }

  /** Reads one shard and checks it against its .json: a damaged shard is named, never silently misread. */
  private async readShardFromStore(ns: NamespaceInfo, shardId: string): Promise<Float32Array> {
    const key = this.shardKey(ns, shardId, 'npy');
    const missing = (err: unknown) =>
      Promise.reject(
        new DamagedShardError(`${this.store.location}/${key}`, 'its .npy file is missing', { cause: err }),
      );
    const getRange = this.store.getRange?.bind(this.store);
    let bytes: Uint8Array;
    let index: ShardIndex | undefined;
    if (getRange) {
      // The .json says how large the .npy is: a large one (a compacted group) is read as parallel ranged GETs.
      index = await this.shardIndex(ns, shardId);
      bytes = await (
        index?.bytes !== undefined && rangesFor(index.bytes) > 1
          ? readInRanges(getRange, key, index.bytes)
          : this.store.get(key)
      ).catch(missing);
    } else {
      [bytes, index] = await Promise.all([this.store.get(key).catch(missing), this.shardIndex(ns, shardId)]);
    }
    const where = `${this.store.location}/${key}`;
    if (index?.bytes !== undefined && bytes.byteLength !== index.bytes)
      throw new DamagedShardError(where, `its .npy file is ${bytes.byteLength} bytes, ${index.bytes} expected`);
    if (index?.crc32 !== undefined && crc32(bytes) !== index.crc32)
      throw new DamagedShardError(where, 'its rows fail their checksum');
    const { data, shape } = decodeNpy(bytes);
    if (!(data instanceof Float32Array) || shape[1] !== ns.dim)
      throw new DataError(`shard ${key} is not float32 [rows, ${ns.dim}]`);
    return data;
  }
}

/**
 * A store keeps the shards it decodes up to this many bytes, first come first kept: train reads its codes in several
 * passes (the training split, the validation split, the data-quality checks) and evaluate in more, each pass over the
 * same shards, which on S3 cost two GETs per shard and pass (3,000 images ingested on upload into 24 code objects: 480
 * of the run's GETs). Not least-recently-used: a pass over more than the budget would evict every shard before its next
 * pass; first come keeps the first 64 MiB hitting on every pass. Readers are made per message, so nothing is kept
 * between runs.
 */
const KEPT_SHARD_BYTES = 64 * 2 ** 20;

/** Shards read and checked at once while indexing (each holds up to two files open). */
const SHARD_CHECKS = 64;

/** A shard's version as listed: both its files' (a stamp holds while neither changed). */
function shardVersion(json: BlobInfo, npy: BlobInfo | undefined): string | undefined {
  return npy?.version && json.version ? `${npy.version}|${json.version}` : undefined;
}

/**
 * Positions into `locations` grouped by shard, shards in id order, positions in list order within a shard: the order
 * `chunksInShardOrder` yields rows in, known before any shard is read (streamed training sorts labels and folds by it).
 */
export function positionsByShard(locations: readonly CodeLocation[]): Array<[string, number[]]> {
  const byShard = new Map<string, number[]>();
  locations.forEach((loc, position) => {
    const list = byShard.get(loc.shard);
    if (list) list.push(position);
    else byShard.set(loc.shard, [position]);
  });
  return [...byShard].sort(([a], [b]) => (a < b ? -1 : 1));
}

/**
 * Large shards are read as parallel ranged GETs of about this size (S3 serves each connection at its own speed). An
 * object so tests can lower it.
 */
export const RANGE_BYTES = { value: 8 * 2 ** 20 };

/**
 * How many equal ranges a shard of `size` bytes is read in: the nearest whole number of RANGE_BYTES, so a compacted
 * group just over the range size is one GET rather than a full range and a sliver (which doubled train's GETs).
 */
export function rangesFor(size: number): number {
  return Math.max(1, Math.round(size / RANGE_BYTES.value));
}

async function readInRanges(
  getRange: (key: string, start: number, end: number) => Promise<Uint8Array>,
  key: string,
  size: number,
): Promise<Uint8Array> {
  const step = Math.ceil(size / rangesFor(size));
  const parts = await Promise.all(
    Array.from({ length: Math.ceil(size / step) }, (_, i) => getRange(key, i * step, Math.min(size, (i + 1) * step))),
  );
  return Buffer.concat(parts);
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
