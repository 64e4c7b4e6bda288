import { DataError } from '../errors.js';
import type { Matrix } from '../heads/matrix.js';
import type { FeatureStore } from './feature-store.js';
import type { Manifest, ManifestEntry } from './manifest.js';

export interface LabelledCodes {
  X: Matrix;
  y: Int32Array;
  entries: ManifestEntry[];
}

/** One split's codes at one cut point as stored (float32, row-major [entries, dim]) and its entries. */
export async function loadSplitCodes(
  features: FeatureStore,
  manifest: Manifest,
  cut: string,
  split: string,
): Promise<{ codes: Float32Array; dim: number; entries: ManifestEntry[] }> {
  const { info, entries } = splitOf(manifest, cut, split);
  return {
    codes: await features.readCodes(
      info,
      entries.map((e) => e.codes[cut]!),
    ),
    dim: info.dim,
    entries,
  };
}

/**
 * One split's entries and its codes read `blockRows` rows at a time, in entry order (float32): what scoring a split
 * needs without holding all of it (a 20 k-image val split is 100 MB of float32, 200 MB more as float64).
 */
export function splitInBlocks(
  features: FeatureStore,
  manifest: Manifest,
  cut: string,
  split: string,
  blockRows: number,
): { dim: number; entries: ManifestEntry[]; blocks: AsyncGenerator<{ offset: number; codes: Float32Array }> } {
  const { info, entries } = splitOf(manifest, cut, split);
  const locations = entries.map((e) => e.codes[cut]!);
  return { dim: info.dim, entries, blocks: features.readCodesInBlocks(info, locations, blockRows) };
}

function splitOf(manifest: Manifest, cut: string, split: string) {
  const ns = manifest.namespaces[cut];
  if (!ns)
    throw new DataError(
      `no codes for cut point "${cut}" in this cache (has: ${Object.keys(manifest.namespaces).join(', ')}); run extract with --layer ${cut}`,
    );
  const entries = manifest.entries.filter((e) => e.split === split);
  if (entries.length === 0) throw new DataError(`split "${split}" has no usable images in ${manifest.dataset}`);
  const info = { id: ns.id, dim: ns.dim, model: manifest.model.name, modelSha256: manifest.model.sha256, cut };
  return { info, entries };
}

/** Reads one split's codes at one cut point from the cache, as the in-memory heads want them (float64, row-major). */
export async function loadSplit(
  features: FeatureStore,
  manifest: Manifest,
  cut: string,
  split: string,
): Promise<LabelledCodes> {
  const { codes, dim, entries } = await loadSplitCodes(features, manifest, cut, split);
  return {
    X: { rows: entries.length, cols: dim, data: Float64Array.from(codes) },
    y: Int32Array.from(entries.map((e) => e.label)),
    entries,
  };
}
