import type { NamespaceInfo } from '../core/features/feature-store.js';
import { MANIFEST_KEY, type Manifest, type ManifestEntry } from '../core/features/manifest.js';
import { mulberry32 } from '../core/heads/prng.js';
import type { BlobStore } from '../core/ports/blob-store.js';

/** Standard normal draws (Box–Muller) from a uniform source. */
export function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * The heads benches' codes: ReLU'd Gaussian blobs with class means 0.1·N(0, 1) per feature (classes overlap, as CNN
 * codes of similar classes do). `draw(n, seed)` gives n rows and labels, reproducibly per seed.
 */
export function syntheticCodes(
  dim: number,
  classes: number,
): (n: number, seed: number) => { X: Float32Array; y: Int32Array } {
  const normal = gaussian(mulberry32(0));
  const means = Float64Array.from({ length: classes * dim }, () => 0.1 * normal());
  return (n, seed) => {
    const random = mulberry32(seed);
    const noise = gaussian(random);
    const y = Int32Array.from({ length: n }, () => Math.floor(random() * classes));
    const X = new Float32Array(n * dim);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < dim; j++) X[i * dim + j] = Math.max(0, means[y[i]! * dim + j]! + noise());
    return { X, y };
  };
}

/** The namespace of a synthetic-codes workspace: a model named 'synthetic' with an all-zero digest, final cut. */
export function syntheticNamespace(dim: number): NamespaceInfo {
  return { id: `synthetic/final-${dim}`, model: 'synthetic', modelSha256: '0'.repeat(64), cut: 'final', dim };
}

/** A synthetic-codes workspace's manifest, as extraction would have written it over those shards. */
export async function putSyntheticManifest(
  workspace: BlobStore,
  ns: NamespaceInfo,
  classes: string[],
  entries: ManifestEntry[],
): Promise<void> {
  const manifest: Manifest = {
    version: 1,
    dataset: 'synthetic',
    model: { name: 'synthetic', sha256: '0'.repeat(64) },
    classes,
    splitSynthesized: false,
    namespaces: { final: { id: ns.id, dim: ns.dim } },
    entries,
    rejects: [],
    ignored: [],
  };
  await workspace.put(MANIFEST_KEY, JSON.stringify(manifest));
}
