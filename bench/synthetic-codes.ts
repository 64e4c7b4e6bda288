import { mulberry32 } from '../core/heads/prng.js';

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
