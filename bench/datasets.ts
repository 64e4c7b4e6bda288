import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

// Datasets the benches derive from a real one (bench/extract's ×N set, which bench/scale measures beside its own).

/** `<root>/<split>/<class>/<file>` paths of an ImageFolder. */
export function imageFiles(root: string): string[] {
  const out: string[] = [];
  const dirs = (dir: string) =>
    readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  for (const split of dirs(root)) {
    for (const cls of dirs(path.join(root, split)))
      for (const f of readdirSync(path.join(root, split, cls))) out.push(path.join(split, cls, f));
  }
  return out.sort();
}

/** The dataset `copies` times, copy k with k zero bytes appended (copy 0 is the file itself). */
export function repeatedDataset(root: string, files: string[], copies: number, into: string): string {
  for (const rel of files) {
    mkdirSync(path.join(into, path.dirname(rel)), { recursive: true });
    const bytes = readFileSync(path.join(root, rel));
    for (let k = 0; k < copies; k++) {
      const name = path.join(into, path.dirname(rel), `rep${k}~${path.basename(rel)}`);
      writeFileSync(name, k === 0 ? bytes : Buffer.concat([bytes, Buffer.alloc(k, 0)]));
    }
  }
  return into;
}
