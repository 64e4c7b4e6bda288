import { createHash } from 'node:crypto';
import { DataError } from '../errors.js';
import { MANIFEST_KEY, type Manifest, type ManifestEntry } from '../features/manifest.js';
import type { BlobStore } from '../ports/blob-store.js';
import { MANIFEST_SUMMARY_VERSION, parseManifestDocument, type ManifestSummary } from './manifest-artefact.js';

export type { ManifestSummary };

/**
 * Where a local workspace keeps its per-image manifest entries: a table of the workspace index (`index.sqlite`), so
 * changing k entries writes k rows instead of rewriting one JSON document that grows with the dataset. manifest.json
 * then holds only the summary (model, classes, cut points, counts, rejects) plus the count and digest of the entries,
 * so an index that does not match it is refused instead of read.
 */
export interface ManifestEntryIndex {
  /** Where the entries live, for messages ("file:///ws/index.sqlite"). */
  readonly location: string;
  /**
   * Makes the stored entries exactly `entries` (unique keys, in `compareKeys` order) and remembers their `digest`:
   * rows whose values changed are rewritten, missing ones deleted, unchanged ones untouched; one transaction. Returns
   * how many rows were written and deleted.
   */
  replace(entries: Iterable<ManifestEntry>, digest: string): { written: number; removed: number };
  /** The digest the last `replace` stored with the entries (undefined: none yet, or an index file made afresh). */
  digest(): string | undefined;
  /**
   * The caller holds exactly the entries stored under `digest`: later reads in this process may return them instead of
   * reading every row again (a `run` reads the manifest in each of its steps), for as long as the digest stands.
   */
  adopt(entries: readonly ManifestEntry[], digest: string): void;
  /** The stored entries in key order (`compareKeys`), streamed from the index (never one big document). */
  entries(): Iterable<ManifestEntry>;
  count(): number;
}

/** The format writeManifest writes when the entries live in the index. */
export const MANIFEST_FORMAT = MANIFEST_SUMMARY_VERSION;

/**
 * Keys in UTF-8 byte order (code point order), the order SQLite keeps TEXT keys in. JavaScript's `<` compares UTF-16
 * units, which differs only where a surrogate meets a unit of U+E000..U+FFFF; those are mapped into code point order.
 */
export function compareKeys(a: string, b: string): number {
  // Below U+D800 UTF-16 order is code point order: the engine's comparison answers (3× the loop's speed on paths).
  if (!OUT_OF_CODE_POINT_ORDER.test(a) && !OUT_OF_CODE_POINT_ORDER.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return inCodePointOrder(x) - inCodePointOrder(y);
  }
  return a.length - b.length;
}

/** Units whose UTF-16 order can differ from code point order: surrogates and U+E000..U+FFFF. */
const OUT_OF_CODE_POINT_ORDER = /[\ud800-\uffff]/;

const inCodePointOrder = (unit: number): number =>
  unit >= 0xd800 && unit <= 0xdfff ? unit + 0x2000 : unit >= 0xe000 ? unit - 0x800 : unit;

function isSortedByKey(entries: readonly ManifestEntry[]): boolean {
  for (let i = 1; i < entries.length; i++) if (compareKeys(entries[i - 1]!.key, entries[i]!.key) >= 0) return false;
  return true;
}

/** A digest over every entry in order: equal digests mean the index holds what manifest.json was written with. */
export function entriesDigest(entries: Iterable<ManifestEntry>): string {
  const hash = createHash('sha256');
  // Fed in chunks of lines: one hash update per entry costs more than the hashing at 100 k entries.
  let lines: string[] = [];
  for (const e of entries) {
    let codes = '';
    for (const cut in e.codes) codes += `\0${cut}\0${e.codes[cut]!.shard}\0${e.codes[cut]!.row}`;
    lines.push(`${e.key}\0${e.split}\0${e.label}\0${e.contentHash}${codes}\n`);
    if (lines.length === 4096) {
      hash.update(lines.join(''));
      lines = [];
    }
  }
  hash.update(lines.join(''));
  return hash.digest('hex').slice(0, 32);
}

/**
 * Writes a manifest. With an entry index (local workspaces) the entries go to the index and manifest.json holds the
 * summary, and nothing is written when the stored entries are the same (a re-run on unchanged data); the entries are
 * put in key order (the order the index keeps; a listing's order already). Without one
 * (object stores, where the distributed steps assemble it) manifest.json holds everything, format 1.
 */
export async function writeManifest(
  workspace: BlobStore,
  manifest: Manifest,
  index?: ManifestEntryIndex,
): Promise<{ written: number; removed: number }> {
  if (!index) {
    await workspace.put(MANIFEST_KEY, JSON.stringify(manifest));
    return { written: manifest.entries.length, removed: 0 };
  }
  if (!isSortedByKey(manifest.entries)) manifest.entries.sort((a, b) => compareKeys(a.key, b.key));
  const digest = entriesDigest(manifest.entries);
  const stored = await workspace.getJson<{ version?: unknown; entries?: unknown }>(MANIFEST_KEY).catch(() => undefined);
  const summary = summaryOf(manifest, digest);
  // Unchanged: the summary says so and the index still holds what it vouches for (not deleted or replaced since).
  const unchanged = stored?.version === MANIFEST_FORMAT && JSON.stringify(stored) === JSON.stringify(summary);
  if (unchanged && index.digest() === digest) {
    index.adopt(manifest.entries, digest);
    return { written: 0, removed: 0 };
  }
  // The entries first, then the summary that vouches for them: a crash between leaves a summary that does not match
  // the index, which the reader refuses (and the next extract rewrites) rather than misreads.
  const changed = index.replace(manifest.entries, digest);
  index.adopt(manifest.entries, digest);
  await workspace.put(MANIFEST_KEY, JSON.stringify(summary));
  return changed;
}

function summaryOf(manifest: Manifest, digest: string): ManifestSummary {
  const { entries, version: _version, ...rest } = manifest;
  return { version: MANIFEST_FORMAT, ...rest, entries: { in: 'index.sqlite', count: entries.length, digest } };
}

/**
 * Reads a workspace's manifest. Format 1 (entries inline, written before the index held them) is migrated into the
 * index when there is one; format 2 needs the index and is refused when the index does not hold exactly the entries
 * the summary counted; any other format is refused with the version it names.
 */
export async function readManifest(workspace: BlobStore, index?: ManifestEntryIndex): Promise<Manifest> {
  const raw = await workspace.getJson<unknown>(MANIFEST_KEY);
  if (raw === undefined)
    throw new DataError(`no ${MANIFEST_KEY} in ${workspace.location}: run "cnn-codes extract" first`);
  const stored = parseManifestDocument(raw, workspace.location, MANIFEST_KEY);
  if (stored.version === 1) {
    if (index) await writeManifest(workspace, stored, index);
    return stored;
  }
  const summary = stored;
  if (!index)
    throw new DataError(
      `${workspace.location}/${MANIFEST_KEY} keeps its entries in the workspace index (index.sqlite), which this reader cannot open`,
    );
  // The index stores the digest in the transaction that writes the rows, so comparing it is as good as hashing them
  // again (and O(1)): a summary from another write, an index replaced or deleted since, are all caught here.
  const held = index.digest();
  const entries = held === summary.entries.digest ? [...index.entries()] : [];
  if (held !== summary.entries.digest || entries.length !== summary.entries.count) {
    throw new DataError(
      `${index.location} does not hold the ${summary.entries.count} entries ${workspace.location}/${MANIFEST_KEY} was written with (it holds ${entries.length}; an interrupted write or a file copied from another workspace): run "cnn-codes extract" again to rewrite them`,
    );
  }
  const { entries: _counted, ...rest } = summary;
  return { ...rest, version: 1, entries };
}
