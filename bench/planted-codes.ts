/**
 * Synthetic CNN codes with planted near copies, generated row by row from the row's number (nothing is held: a read
 * regenerates the rows asked for): rectified class centres (200) plus noise, and every 20th row a near copy of an
 * earlier row with noise from 0.05 to 0.5 of the signal, so planted pairs spread across the 0.88 threshold as
 * re-encoded images do. Shared by bench/near-duplicate-search.ts and bench/results/cell-search-vs-usearch.mjs, so both
 * measure the same codes.
 */
import { mulberry32 } from '../core/heads/prng.js';

const CENTRES = 200;
const COPY_EVERY = 20;
const TABLE = 1 << 22;

/** Writes row i of `dim` values at `out[at…]`: centre + noise; a copy adds noise to the row it copies. */
export type PlantedRowWriter = (i: number, out: Float32Array, at: number) => void;

export function plantedCodeRows(dim: number): PlantedRowWriter {
  // One table of Gaussian noise; a row takes a window at an offset drawn from its number.
  const gaussian = new Float32Array(TABLE);
  const noise = mulberry32(0x5eed);
  for (let i = 0; i < TABLE; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - noise()));
    const a = 2 * Math.PI * noise();
    gaussian[i] = r * Math.cos(a);
    gaussian[i + 1] = r * Math.sin(a);
  }
  const pick = mulberry32(7);
  const centres = Float32Array.from({ length: CENTRES * dim }, () =>
    Math.max(0, gaussian[Math.floor(pick() * TABLE)]!),
  );
  return (i, out, at) => {
    const random = mulberry32(i * 2654435761);
    const copy = i % COPY_EVERY === COPY_EVERY - 1 && i > 0;
    const source = copy ? Math.floor(random() * i) : i;
    const r2 = mulberry32(source * 2654435761);
    const centre = Math.floor(r2() * CENTRES) * dim;
    const offset = Math.floor(r2() * (TABLE - dim));
    const sigma = copy ? 0.05 + 0.45 * random() : 0;
    const offset2 = Math.floor(random() * (TABLE - dim));
    for (let t = 0; t < dim; t++) {
      const base = centres[centre + t]! + gaussian[offset + t]!;
      out[at + t] = Math.max(0, base + sigma * gaussian[offset2 + t]!);
    }
  };
}
