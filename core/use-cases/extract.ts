import { createHash } from 'node:crypto';
import { listImageFolder, type DatasetItem, type ListOptions } from '../dataset/image-folder.js';
import { ConfigError, InterruptedError } from '../errors.js';
import {
  namespaceOf,
  type CodeIndex,
  type FeatureStore,
  type NamespaceInfo,
  type ShardDamage,
  type ShardIndex,
} from '../features/feature-store.js';
import { REJECTS_KEY, type Manifest, type ManifestEntry, type RejectRecord } from '../features/manifest.js';
import type { Target } from '../models/targets.js';
import type { RegisteredModel } from '../models/registry.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { Embedder, EmbedItem, EmbedResult } from '../ports/embedder.js';
import type { ProgressSink } from './progress.js';
import { optional } from '../util/optional.js';
import { forEachConcurrent } from '../util/concurrency.js';
import { writeManifest, type ManifestEntryIndex } from '../workspace/manifest-store.js';
import { isStampable, type StampIndex } from '../workspace/stamp-index.js';
import { SIGNATURE_CONCURRENCY, signatureOfBytes } from '../quality/image-signature.js';

export interface ExtractRequest {
  /** Cut point names, or ['all']. Default ['final']. */
  cuts?: string[];
  list?: ListOptions;
  /** Rows per shard; bounds memory while extracting. */
  shardRows?: number;
  /** Hash every image and checksum every shard, trusting no stamp. */
  verify?: boolean;
  /** Aborting stops admitting images, finishes the batches in flight, saves them and throws InterruptedError. */
  signal?: AbortSignal;
}

export interface ExtractOptions {
  shardRows?: number;
  readConcurrency?: number;
  /** Write a shard after every finished batch (local runs: a crash loses only the batches in flight). */
  commitEachBatch?: boolean;
  verify?: boolean;
  signal?: AbortSignal;
  /** Key → content hash the caller already knows (from the listing's identity): cached ones are never read. */
  knownHashes?: ReadonlyMap<string, string>;
  /**
   * Whether bytes read for an item with a `source` identity are that identity's bytes (an S3 ETag is the MD5 of a
   * single-part upload). Confirmed identities are recorded in the shards written, so the next worker that meets the
   * same identity finds the codes without reading. Absent: identities are not recorded.
   */
  confirmSource?: (source: string, bytes: Uint8Array) => boolean;
  /**
   * Take each image's signature (core/quality/image-signature.ts signatureOfBytes) from the bytes read, beside the
   * embedding, into `signatures`: what the serverless train step's near-duplicate rule needs without the images. Images
   * whose bytes are not read (codes cached, hash known) get none; nor does one that does not decode. Default off.
   */
  imageSignatures?: boolean;
}

/** What extracting a list of images needs; `ExtractDeps` adds where the dataset's manifest goes. */
export interface ExtractItemsDeps {
  data: BlobStore;
  features: FeatureStore;
  model: RegisteredModel;
  /** Builds the embedder on first need, so a fully cached run never loads the model or the image decoder. */
  openEmbedder: (model: RegisteredModel, cuts: string[]) => Promise<Embedder>;
  /** Which graph the embedder runs (default cpu); the GPU graph's codes are cached apart (`namespaceOf`). */
  target?: Target;
  onProgress?: ProgressSink;
  /** Remembers each image's content hash by file version, so an unchanged image is not read again. */
  stamps?: StampIndex;
  /** Something was wrong and has been repaired (a damaged shard re-extracted): say so, naming the file. */
  onWarning?: (message: string) => void;
}

export interface ExtractDeps extends ExtractItemsDeps {
  dataPrefix?: string;
  /** Where the manifest and rejects of this dataset go. */
  workspace: BlobStore;
  /** Holds the manifest's per-image entries (local workspaces: index.sqlite); absent: manifest.json holds them. */
  manifestIndex?: ManifestEntryIndex;
}

export interface ExtractSummary {
  images: number;
  /** Images that went through the backbone in this call (0 when everything was cached). */
  embedded: number;
  cached: number;
  rejected: number;
  ignored: number;
  /** Damaged shards found, removed and re-extracted in this call. */
  repaired: ShardDamage[];
  seconds: number;
  imagesPerSecond: number;
}

export interface ExtractedItems {
  namespaces: Manifest['namespaces'];
  entries: ManifestEntry[];
  rejects: RejectRecord[];
  embedded: number;
  cached: number;
  repaired: ShardDamage[];
  seconds: number;
  /** Content hash → signature (16 hex digits) of the images read, with `imageSignatures` (absent: none). */
  signatures?: Record<string, string>;
}

export function resolveCuts(model: RegisteredModel, requested: string[] | undefined): string[] {
  const available = Object.keys(model.descriptor.cutPoints);
  const cuts = !requested || requested.length === 0 ? ['final'] : requested.includes('all') ? available : requested;
  for (const cut of cuts) {
    if (!available.includes(cut))
      throw new ConfigError(`model ${model.descriptor.name} has no cut point "${cut}" (has: ${available.join(', ')})`);
  }
  return [...new Set(cuts)];
}

/**
 * Images → cached codes for every requested cut point, in one forward pass per image, skipping what the cache
 * already holds (by content hash). The engine behind both the local `extract` and a distributed worker's shard.
 */
export async function extractItems(
  deps: ExtractItemsDeps,
  items: readonly DatasetItem[],
  cuts: string[],
  options: ExtractOptions = {},
): Promise<ExtractedItems> {
  const started = performance.now();
  const namespaces = cuts.map((cut) => namespaceOf(deps.model.descriptor, cut, deps.target));
  const repaired: ShardDamage[] = [];
  const onDamaged = (damage: ShardDamage): void => {
    repaired.push(damage);
    deps.onWarning?.(
      `damaged shard ${damage.location}: ${damage.reason}; removed, its ${damage.rows} rows are extracted again`,
    );
  };
  const indexes = await Promise.all(
    namespaces.map((ns) => deps.features.loadIndex(ns, { verify: options.verify === true, onDamaged })),
  );
  const run = new ExtractionRun(deps, cuts, namespaces, indexes, options, items.length, options.knownHashes);
  // Every listed file's stamp in one pass over the index, not a lookup per file.
  const stamps = options.verify ? undefined : deps.stamps;
  const stamped = stamps?.getMany(
    // An unlisted version (an object store without one) matches no stamp.
    items.map((item) => ({ key: stampKeyOf(deps.data, item), version: item.version ?? '' })),
  );
  // Files known unchanged whose codes are cached are settled in one synchronous pass (no promise per file); the rest
  // are read, a few at a time.
  const toRead: number[] = [];
  if (!options.signal?.aborted) items.forEach((item, i) => run.settleKnown(item, stamped?.[i]) || toRead.push(i));
  try {
    await forEachConcurrent(toRead, options.readConcurrency ?? 8, (i) => run.admit(items[i]!, stamped?.[i]));
    await run.finish();
  } finally {
    // On every exit path: an error while admitting or dispatching (a descriptor's batch the graph refuses, a file that
    // cannot be read) used to leave the worker pool open, and the process printed its error and never exited.
    await run.close();
  }
  if (options.signal?.aborted) {
    const saved = run.cached + run.embedded;
    throw new InterruptedError(
      String(options.signal.reason ?? 'abort'),
      `interrupted: ${saved} of ${items.length} images have their codes saved (${run.embedded} embedded in this run); run the same command again to resume from there`,
    );
  }
  const { entries, rejects } = locateCodes(items, cuts, indexes, run.hashes);
  return {
    namespaces: Object.fromEntries(cuts.map((cut, i) => [cut, { id: namespaces[i]!.id, dim: namespaces[i]!.dim }])),
    entries,
    rejects,
    embedded: run.embedded,
    cached: run.cached,
    repaired,
    seconds: (performance.now() - started) / 1000,
    ...(run.signatures.size > 0 ? { signatures: Object.fromEntries(run.signatures) } : {}),
  };
}

/** A whole ImageFolder dataset → cached codes plus the manifest and rejects list in the workspace. */
export async function extract(
  deps: ExtractDeps,
  request: ExtractRequest = {},
): Promise<{ manifest: Manifest; summary: ExtractSummary }> {
  const started = performance.now();
  const cuts = resolveCuts(deps.model, request.cuts);
  const dataset = await listImageFolder(deps.data, deps.dataPrefix ?? '', request.list);
  const extracted = await extractItems(deps, dataset.items, cuts, {
    commitEachBatch: true,
    ...optional('shardRows', request.shardRows),
    ...optional('verify', request.verify),
    ...optional('signal', request.signal),
  });
  const manifest: Manifest = {
    version: 1,
    dataset: dataset.location,
    model: { name: deps.model.descriptor.name, sha256: deps.model.descriptor.sha256 },
    classes: dataset.classes,
    splitSynthesized: dataset.splitSynthesized,
    namespaces: extracted.namespaces,
    entries: extracted.entries,
    // Files the listing could not read are rejects too; never read, they have no content hash.
    rejects: [...extracted.rejects, ...dataset.unreadable.map((u) => ({ ...u, contentHash: '' }))],
    ignored: dataset.ignored,
  };
  await writeManifest(deps.workspace, manifest, deps.manifestIndex);
  const rejectsJson = JSON.stringify(manifest.rejects, null, 2);
  // Unchanged on a re-run: not rewritten, so an unchanged workspace is not touched at all.
  if (
    (await deps.workspace
      .get(REJECTS_KEY)
      .then((b) => Buffer.from(b).toString('utf8'))
      .catch(() => undefined)) !== rejectsJson
  )
    await deps.workspace.put(REJECTS_KEY, rejectsJson);
  const seconds = (performance.now() - started) / 1000;
  return {
    manifest,
    summary: {
      images: dataset.items.length,
      embedded: extracted.embedded,
      cached: extracted.cached,
      rejected: manifest.rejects.length,
      ignored: dataset.ignored.length,
      repaired: extracted.repaired,
      seconds,
      imagesPerSecond: dataset.items.length / seconds,
    },
  };
}

/** The mutable state of one extraction: batching, in-flight work, and the shard buffers per cut point. */
class ExtractionRun {
  readonly hashes = new Map<string, string>();
  /** Content hash → the confirmed store identity it was read from, recorded beside its row. */
  readonly sources = new Map<string, string>();
  /** Content hash → signature, with `imageSignatures`. */
  readonly signatures = new Map<string, string>();
  embedded = 0;
  cached = 0;
  private done = 0;
  private batch: EmbedItem[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly signing = new Set<Promise<void>>();
  private readonly queued = new Set<string>();
  private failure?: unknown;
  private embedder?: Promise<Embedder>;
  private readonly buffers: ShardBuffer[];
  /** Content hashes learnt by reading files this run, stamped at the end (see RACY_WINDOW_MS). */
  private readonly learnt: Array<{ key: string; version: string; modifiedMs: number | undefined; hash: string }> = [];

  constructor(
    private readonly deps: ExtractItemsDeps,
    private readonly cuts: string[],
    namespaces: NamespaceInfo[],
    private readonly indexes: CodeIndex[],
    private readonly options: ExtractOptions,
    private readonly total: number,
    /** Key → content hash the caller already knows (from the listing's identity): cached ones are never read. */
    private readonly knownHashes?: ReadonlyMap<string, string>,
  ) {
    const shardRows = options.shardRows ?? 1024;
    this.buffers = namespaces.map(
      (ns, i) =>
        new ShardBuffer(
          deps.features,
          ns,
          indexes[i]!,
          options.commitEachBatch ? 1 : shardRows,
          shardRows,
          this.sources,
        ),
    );
  }

  /** `stamped`: the content hash the stamp index holds for this version of the file (`extractItems` looks them up). */
  async admit(item: DatasetItem, stamped: string | undefined): Promise<void> {
    if (this.options.signal?.aborted || this.settleKnown(item, stamped)) return;
    const bytes = await this.deps.data.get(item.key);
    const hash = createHash('sha256').update(bytes).digest('hex');
    this.hashes.set(item.key, hash);
    if (this.options.imageSignatures && !this.signatures.has(hash)) await this.sign(hash, bytes);
    if (item.source && this.options.confirmSource?.(item.source, bytes)) this.sources.set(hash, item.source);
    if (item.version && stamped !== hash)
      this.learnt.push({
        key: stampKeyOf(this.deps.data, item),
        version: item.version,
        modifiedMs: item.modifiedMs,
        hash,
      });
    if (this.isKnown(hash)) {
      this.cached += 1;
      this.tick(1);
      return;
    }
    this.queued.add(hash);
    this.batch.push({ id: hash, bytes });
    const embedder = await this.openEmbedder();
    if (this.batch.length >= embedder.batchSize) await this.dispatch(embedder);
  }

  /**
   * Known from the listing (an S3 ETag the cache has seen) or from an unchanged file's stamp, with codes in the cache:
   * nothing to read; the item is counted as cached and true returned.
   */
  settleKnown(item: DatasetItem, stamped: string | undefined): boolean {
    const known = this.knownHashes?.get(item.key) ?? stamped ?? this.bySource(item.source);
    if (!known || !this.isKnown(known)) return false;
    this.hashes.set(item.key, known);
    this.cached += 1;
    this.tick(1);
    return true;
  }

  /** Closes the embedder (the worker pool) if it is open; idempotent, after `finish` or instead of it. */
  async close(): Promise<void> {
    const opened = this.embedder;
    this.embedder = undefined;
    if (!opened) return;
    await Promise.allSettled(this.inFlight);
    await opened.then((embedder) => embedder.close()).catch(() => undefined);
  }

  async finish(): Promise<void> {
    // Interrupted: the partial batch is dropped (never embedded), the ones in flight are finished and saved.
    if (this.batch.length > 0 && !this.options.signal?.aborted) await this.dispatch(await this.openEmbedder());
    await Promise.all([...this.inFlight, ...this.signing]);
    await this.close();
    // Codes already computed are kept even when a batch failed: a re-run resumes instead of starting over.
    await Promise.all(this.buffers.map((b) => b.flush()));
    this.stampLearnt();
    if (this.failure) throw this.failure;
  }

  /** The content hash the cache recorded for this store identity, if every cut point's index has it. */
  private bySource(source: string | undefined): string | undefined {
    if (!source) return undefined;
    const hash = this.indexes[0]?.sources.get(source);
    return hash && this.indexes.every((index) => index.has(hash)) ? hash : undefined;
  }

  private isKnown(hash: string): boolean {
    for (const index of this.indexes) if (!index.has(hash)) return this.queued.has(hash);
    return true;
  }

  private stampLearnt(): void {
    const stamps = this.deps.stamps;
    if (!stamps) return;
    const now = Date.now();
    for (const l of this.learnt) if (isStampable(l.modifiedMs, now)) stamps.set(l.key, l.version, l.hash);
    stamps.commit();
  }

  /**
   * Starts the signature of bytes in hand, beside the embedding: a JPEG or small PNG is decoded on this thread (about
   * 1 ms at 128–256 px, 3.5–4 for a hymenoptera photo), other formats on sharp's. At most SIGNATURE_CONCURRENCY at
   * once, so the bytes held stay bounded.
   */
  private async sign(hash: string, bytes: Uint8Array): Promise<void> {
    while (this.signing.size >= SIGNATURE_CONCURRENCY) await Promise.race(this.signing);
    const work: Promise<void> = signatureOfBytes(bytes)
      .then((hex) => void (hex && this.signatures.set(hash, hex)))
      .finally(() => this.signing.delete(work));
    this.signing.add(work);
  }

  private openEmbedder(): Promise<Embedder> {
    this.embedder ??= this.deps.openEmbedder(this.deps.model, this.cuts);
    return this.embedder;
  }

  private async dispatch(embedder: Embedder): Promise<void> {
    const items = this.batch;
    this.batch = [];
    // Backpressure: at most two batches per worker in flight, so memory stays flat however large the dataset.
    while (this.inFlight.size >= embedder.parallelism * 2) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const work: Promise<void> = embedder
      .embedBatch(items)
      .then((results) => this.accept(results))
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  private async accept(results: EmbedResult[]): Promise<void> {
    this.embedded += results.filter((r) => 'codes' in r).length;
    await Promise.all(this.buffers.map((buffer, i) => buffer.add(results, this.cuts[i]!)));
    this.deps.stamps?.commit(); // the stamps of the shards just written, so a restart need not checksum them
    this.tick(results.length);
  }

  private tick(n: number): void {
    this.done += n;
    this.deps.onProgress?.({
      phase: 'extract',
      done: this.done,
      total: this.total,
      detail: { embedded: this.embedded, cached: this.cached },
    });
  }
}

/**
 * Collects rows for one namespace and writes a shard once `flushRows` are ready (1 in local runs: every finished
 * batch is on disk before the next is accepted), never more than `shardRows` in one shard.
 */
class ShardBuffer {
  private rows: string[] = [];
  private codes: Float32Array[] = [];
  private rejects: ShardIndex['rejects'] = [];

  constructor(
    private readonly features: FeatureStore,
    private readonly ns: NamespaceInfo,
    private readonly index: CodeIndex,
    private readonly flushRows: number,
    private readonly shardRows: number,
    private readonly sources: ReadonlyMap<string, string>,
  ) {}

  async add(results: EmbedResult[], cut: string): Promise<void> {
    for (const r of results) {
      if ('codes' in r) {
        this.rows.push(r.id);
        this.codes.push(r.codes[cut]!);
      } else {
        this.rejects.push({ contentHash: r.id, ...r.error });
      }
    }
    if (this.rows.length >= this.flushRows || (this.flushRows === 1 && this.rejects.length > 0)) await this.flush();
  }

  async flush(): Promise<void> {
    while (this.rows.length > 0 || this.rejects.length > 0) {
      const rows = this.rows.splice(0, this.shardRows);
      const codes = concat(this.codes.splice(0, this.shardRows), this.ns.dim);
      const rejects = this.rejects.splice(0);
      const sources = this.sources.size > 0 ? rows.map((hash) => this.sources.get(hash) ?? null) : undefined;
      const shardId = await this.features.writeShard(this.ns, rows, codes, rejects, sources);
      this.index.addShard(shardId, {
        version: 1,
        namespace: this.ns.id,
        dim: this.ns.dim,
        rows,
        rejects,
        ...(sources ? { sources } : {}),
      });
    }
  }
}

function concat(parts: Float32Array[], dim: number): Float32Array {
  const out = new Float32Array(parts.length * dim);
  parts.forEach((p, i) => out.set(p, i * dim));
  return out;
}

function locateCodes(
  items: readonly DatasetItem[],
  cuts: string[],
  indexes: CodeIndex[],
  hashes: Map<string, string>,
): { entries: ManifestEntry[]; rejects: RejectRecord[] } {
  const entries: ManifestEntry[] = [];
  const rejects: RejectRecord[] = [];
  for (const item of items) {
    const contentHash = hashes.get(item.key)!;
    const failure = indexes[0]!.rejects.get(contentHash);
    if (failure) {
      rejects.push({ key: item.key, split: item.split, label: item.label, contentHash, ...failure });
      continue;
    }
    const codes: ManifestEntry['codes'] = {};
    cuts.forEach((cut, i) => (codes[cut] = indexes[i]!.codes.get(contentHash)!));
    entries.push({ key: item.key, split: item.split, label: item.label, contentHash, codes });
  }
  return { entries, rejects };
}

/** Where an image's content hash is stamped, by its file version. */
function stampKeyOf(data: BlobStore, item: DatasetItem): string {
  return `${data.location}/${item.key}`;
}
