import { DataError, type UnreadableKind } from '../errors.js';
import { MAX_IMAGE_BYTES } from '../image/invalid-image.js';
import type { BlobInfo, BlobStore } from '../ports/blob-store.js';
import { stratifiedSplit } from '../heads/folds.js';

/**
 * The ImageFolder layout, as torchvision reads it: `<split>/<class>/<file>` or, without splits, `<class>/<file>`
 * (then a seeded stratified split makes train and val). Class indices follow sorted class names, as in torchvision.
 */

export interface DatasetItem {
  key: string;
  split: string;
  label: number;
  /** The file's version as listed (see BlobInfo), so an unchanged file's content hash can be trusted unread. */
  version?: string;
  modifiedMs?: number;
  /** The store's identity of the bytes ("<etag>/<size>") where a listing or S3 notice gave one (see ShardIndex). */
  source?: string;
}

export interface Dataset {
  location: string;
  classes: string[];
  items: DatasetItem[];
  /** True when val was carved out of an unsplit folder (seeded, stratified). */
  splitSynthesized: boolean;
  /** Files outside the layout (wrong depth, hidden, metadata), skipped with a reason. */
  ignored: Array<{ key: string; reason: string }>;
  /** Files in the layout that cannot be read (dangling symlinks, no permission): rejects, with their kind. */
  unreadable: Array<DatasetItem & { kind: UnreadableKind; message: string }>;
}

const SPLIT_NAMES = new Set(['train', 'val', 'valid', 'validation', 'test']);
/** Files that sit beside images in a dataset but are none (the serverless ingest skips them too). */
export const METADATA = /\.(txt|md|json|csv|tsv|yaml|yml|xml|html|py|sh|zip|tar|gz)$/i;

export interface ListOptions {
  /** Fraction of each class moved to val when the folder has no splits. */
  valFraction?: number;
  seed?: number;
}

export async function listImageFolder(store: BlobStore, prefix = '', options: ListOptions = {}): Promise<Dataset> {
  const base = prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix;
  // Each file keeps its listing (key, version, unreadable) along: no rebuilt key or second lookup per file.
  const files: Array<{ parts: string[]; blob: BlobInfo }> = [];
  const ignored: Dataset['ignored'] = [];
  for await (const blob of store.list(base)) {
    const rel = blob.key.slice(base.length);
    const parts = rel.split('/');
    if (parts.some((p) => p.startsWith('.'))) continue;
    if (METADATA.test(rel)) {
      ignored.push({ key: blob.key, reason: 'not an image (metadata file)' });
      continue;
    }
    files.push({ parts, blob });
  }
  const hasSplits = files.some(({ parts: p }) => p.length === 3 && SPLIT_NAMES.has(p[0]!));
  const depth = hasSplits ? 3 : 2;
  const kept: Array<{ blob: BlobInfo; split: string; className: string }> = [];
  for (const { parts, blob } of files) {
    if (parts.length !== depth || (hasSplits && !SPLIT_NAMES.has(parts[0]!))) {
      ignored.push({
        key: blob.key,
        // A split or class folder that cannot be listed says why, rather than seeming out of place.
        reason: blob.unreadable
          ? `${blob.unreadable.kind}: ${blob.unreadable.message}`
          : `outside the ${hasSplits ? '<split>/<class>/<file>' : '<class>/<file>'} layout`,
      });
      continue;
    }
    kept.push(
      hasSplits
        ? { blob, split: normalizeSplit(parts[0]!), className: parts[1]! }
        : { blob, split: 'train', className: parts[0]! },
    );
  }
  if (kept.length === 0) {
    throw new DataError(
      `no images found at ${store.location}/${base} (expected <split>/<class>/<image> or <class>/<image>)`,
    );
  }
  const classes = [...new Set(kept.filter((k) => k.split === 'train').map((k) => k.className))].sort();
  if (classes.length < 2)
    throw new DataError(`need at least 2 classes in train, found ${classes.length} at ${store.location}/${base}`);
  const labelOf = new Map(classes.map((c, i) => [c, i]));
  const items: DatasetItem[] = [];
  const unreadable: Dataset['unreadable'] = [];
  for (const { blob, split, className } of kept) {
    const label = labelOf.get(className);
    if (label === undefined) {
      ignored.push({ key: blob.key, reason: `class "${className}" does not occur in train` });
      continue;
    }
    if (blob.unreadable) unreadable.push({ key: blob.key, split, label, ...blob.unreadable });
    else if (blob.size > MAX_IMAGE_BYTES)
      unreadable.push({
        key: blob.key,
        split,
        label,
        kind: 'too-large',
        message: `${blob.size} bytes, over the ${MAX_IMAGE_BYTES}-byte limit for one image: never read`,
      });
    else if (!blob.version) items.push({ key: blob.key, split, label });
    else if (blob.modifiedMs === undefined) items.push({ key: blob.key, split, label, version: blob.version });
    else items.push({ key: blob.key, split, label, version: blob.version, modifiedMs: blob.modifiedMs });
  }
  const splitSynthesized = !hasSplits;
  // Unreadable files stay in train when val is carved out: their content, hence their class balance, is unknown.
  if (splitSynthesized) carveValidation(items, options.valFraction ?? 0.2, options.seed ?? 0);
  return {
    location: `${store.location}/${base}`.replace(/\/$/, ''),
    classes,
    items,
    splitSynthesized,
    ignored,
    unreadable,
  };
}

function normalizeSplit(name: string): string {
  return name === 'valid' || name === 'validation' ? 'val' : name;
}

function carveValidation(items: DatasetItem[], fraction: number, seed: number): void {
  const { test } = stratifiedSplit(Int32Array.from(items.map((i) => i.label)), fraction, seed);
  for (const index of test) items[index]!.split = 'val';
}
