import type { FeatureStore } from '../features/feature-store.js';
import type { Manifest, ManifestEntry } from '../features/manifest.js';
import type { BlobStore } from '../ports/blob-store.js';
import { fitPrincipalAxes, principalSample, projectRows } from '../quality/code-map.js';
import { codeMapFile, dataQualityFile } from '../workspace/data-quality-artefact.js';
import {
  CODE_MAP_KEY,
  DATA_QUALITY_KEY,
  qualityLayer,
  type CodeMapFile,
  type DataQuality,
  type LeakageRecord,
} from '../quality/data-quality.js';
import {
  joinSameContent,
  NEAR_DUPLICATE_COSINE,
  nearDuplicateRule,
  signatureConfirmedPairs,
} from '../quality/duplicates.js';
import { imageSignaturesOf } from '../quality/image-signature.js';
import { cachedRowReader, searchByCells } from '../quality/cell-search.js';
import { normalizeRows } from '../quality/near-duplicates.js';
import { UnionFind } from '../quality/union-find.js';
import type { HeadArtefact } from '../workspace/head-artefact.js';

export interface DataQualityResult {
  quality: DataQuality;
  map: CodeMapFile;
}

/**
 * The whole dataset's data-quality picture, from the codes in the cache and what the train step found (head.json's
 * `quality`): duplicate groups across every split, held-out images that duplicate a train image (leakage), the train
 * step's likely label errors, and a 2-D map of the codes. Writes data-quality.json and code-map.json.
 * The near-duplicate search covers every split at once (core/quality/cell-search.ts: an IVF index on onnxruntime GEMMs,
 * exact up to 1,000 images); memory is a batch of cells' codes, the map's sample and a few numbers per image.
 */
export async function analyzeDataQuality(
  deps: { workspace: BlobStore; features: FeatureStore; data?: BlobStore | undefined },
  manifest: Manifest,
  artefact: HeadArtefact,
): Promise<DataQualityResult> {
  const trained = artefact.quality;
  const layer = trained?.layer ?? qualityLayer(manifest.namespaces, artefact.layer);
  const cosine = trained?.threshold ?? NEAR_DUPLICATE_COSINE;
  const splits = [...new Set(manifest.entries.map((e) => e.split))].sort((a, b) =>
    a === 'train' ? -1 : b === 'train' ? 1 : a.localeCompare(b),
  );
  const ns = manifest.namespaces[layer]!;
  const dim = ns.dim;
  const entries: ManifestEntry[] = splits.flatMap((split) => manifest.entries.filter((e) => e.split === split));
  const info = { id: ns.id, dim, model: manifest.model.name, modelSha256: manifest.model.sha256, cut: layer };
  const locations = entries.map((e) => e.codes[layer]!);
  const nTrain = entries.filter((e) => e.split === 'train').length;
  // The code map: axes fitted on a sample read on its own, then every row projected as the cache streams past.
  const { sample, random } = principalSample(entries.length);
  const sampled = await deps.features.readCodes(
    info,
    Array.from(sample, (r) => locations[r]!),
  );
  normalizeRows(sampled, sample.length, dim, sampled);
  const axes = fitPrincipalAxes(Float64Array.from(sampled), sample.length, dim, random);
  const points = new Float32Array(entries.length * 2);
  for await (const block of deps.features.readCodesInBlocks(info, locations, MAP_BLOCK_ROWS)) {
    const rows = block.codes.length / dim;
    normalizeRows(block.codes, rows, dim, block.codes);
    projectRows(axes, block.codes, rows, dim, points, block.offset);
  }

  const sets = new UnionFind(entries.length);
  const rowOf = new Map(entries.map((e, i) => [e.key, i]));
  for (const group of trained?.duplicates ?? []) {
    const rows = group.map((k) => rowOf.get(k)).filter((r): r is number => r !== undefined);
    for (const r of rows.slice(1)) sets.union(rows[0]!, r);
  }
  joinSameContent(
    sets,
    entries.map((e) => e.contentHash),
  );
  // Leakage is what a held-out image directly duplicates in train: its own near-duplicate partners (the search keeps
  // the most similar few) and train images with the same bytes. Not the whole group it falls in: when the data is
  // uniform enough for groups to span most of it, listing every train member per held-out image is quadratic
  // (a 100 k-image synthetic set reached gigabytes and failed to serialize).
  const partners = new Map<number, Map<number, number>>();
  const addPartner = (row: number, trainRow: number, cosine: number) => {
    const mine = partners.get(row) ?? new Map<number, number>();
    partners.set(row, mine);
    if (mine.size < LEAKAGE_PARTNERS || mine.has(trainRow))
      mine.set(trainRow, Math.max(cosine, mine.get(trainRow) ?? -1));
  };
  const trainRowsByContent = new Map<string, number[]>();
  for (let r = 0; r < nTrain; r++) {
    const same = trainRowsByContent.get(entries[r]!.contentHash) ?? [];
    trainRowsByContent.set(entries[r]!.contentHash, same);
    if (same.length < LEAKAGE_PARTNERS) same.push(r);
  }
  // Same bytes first: they are the surest partners and must not be crowded out by near-duplicates.
  for (let r = nTrain; r < entries.length; r++)
    for (const t of trainRowsByContent.get(entries[r]!.contentHash) ?? []) addPartner(r, t, 1);
  // Near duplicates across every split, by the cell search over the cache (exact up to 1,000 images; above, the
  // recall bench/data-quality.ts measures), the codes read a batch of cells at a time; candidates confirmed by the
  // images' signatures when the images are at hand (core/quality/duplicates.ts nearDuplicateRule).
  if (nTrain < entries.length) {
    // The train step's rule: by the signatures where it had them (a local run's images; a serverless run's cache,
    // taken by its extract workers), by the codes alone where it had none, so the groups agree; a serverless evaluate
    // finds every signature in the cache and reads no image for them.
    const signatures = trained?.confirmedByImage === true ? await imageSignaturesOf(deps, entries) : undefined;
    const rule = nearDuplicateRule(signatures, cosine);
    const reader = cachedRowReader(deps.features, info, locations);
    const search = await searchByCells(reader, {
      threshold: rule.threshold,
      ...(rule.accept ? { accept: rule.accept } : {}),
      topK: LEAKAGE_PARTNERS,
    });
    // With the pairs the signatures propose, wherever the cells put them (none without signatures).
    for (const p of [...search.pairs, ...(await signatureConfirmedPairs(rule, (rows) => reader.read(rows), dim))]) {
      sets.union(p.i, p.j);
      if (p.i < nTrain && p.j >= nTrain) addPartner(p.j, p.i, p.cosine);
    }
  }
  const groups = sets.groups();
  const leakage: LeakageRecord[] = [...partners].map(([r, train]) => {
    const ranked = [...train].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    return {
      key: entries[r]!.key,
      split: entries[r]!.split,
      trainKeys: ranked.map(([t]) => entries[t]!.key),
      cosine: ranked[0]![1],
    };
  });
  leakage.sort((a, b) => b.cosine - a.cosine || a.key.localeCompare(b.key));

  const quality: DataQuality = {
    duplicates: groups.map((g) => g.map((r) => entries[r]!.key)),
    leakage,
    labelIssues: trained?.labelIssues ?? [],
  };
  const map: CodeMapFile = {
    layer,
    explained: axes.explained,
    points: entries.map((e, i) => ({
      key: e.key,
      split: e.split,
      label: e.label,
      x: round(points[2 * i]!),
      y: round(points[2 * i + 1]!),
    })),
  };
  await deps.workspace.put(CODE_MAP_KEY, codeMapFile(map));
  await deps.workspace.put(DATA_QUALITY_KEY, dataQualityFile(quality));
  return { quality, map };
}

/** Train images listed per leaking held-out image, the most similar first. */
const LEAKAGE_PARTNERS = 10;

/** Rows per block when the map projects every code (20 MB of float32 at 1,280 dimensions). */
const MAP_BLOCK_ROWS = 4096;

const round = (x: number) => Math.round(x * 1e4) / 1e4;
