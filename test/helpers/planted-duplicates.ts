import { copyFile, mkdir, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import sharp, { type Sharp } from 'sharp';

/**
 * The re-encodings real duplicates go through (re-saved at another quality, resized by a site, recompressed), each
 * with distinct bytes from the original: what a content hash cannot see and a near-duplicate search must.
 */
export const REENCODINGS: Array<{ name: string; apply: (image: Sharp, width: number) => Sharp }> = [
  { name: 'q60-80pc', apply: (image, width) => image.resize(Math.round(width * 0.8)).jpeg({ quality: 60 }) },
  { name: 'webp-60pc', apply: (image, width) => image.resize(Math.round(width * 0.6)).webp({ quality: 70 }) },
];

/**
 * A copy of an ImageFolder dataset where every image of `split` (train by default) also appears re-encoded once per
 * REENCODINGS entry, beside the original in the same class folder (`<name>.dup-<encoding>.<ext>`); other splits are
 * copied as they are. `leakToVal` more train images (every 50th) are planted, re-encoded, into val as well: leakage.
 * Returns each planted copy's key with its original's.
 */
export async function plantDuplicates(
  source: string,
  target: string,
  options: { split?: string; leakToVal?: number } = {},
): Promise<{ copies: Map<string, string>; leaked: Map<string, string> }> {
  const split = options.split ?? 'train';
  const copies = new Map<string, string>();
  const leaked = new Map<string, string>();
  let seen = 0;
  for (const splitName of await readdir(source)) {
    const splitDir = path.join(source, splitName);
    for (const cls of await readdir(splitDir).catch(() => [] as string[])) {
      const from = path.join(splitDir, cls);
      const to = path.join(target, splitName, cls);
      await mkdir(to, { recursive: true });
      for (const file of (await readdir(from)).sort()) {
        await copyFile(path.join(from, file), path.join(to, file));
        if (splitName !== split) continue;
        const original = path.join(from, file);
        const width = (
          await sharp(original, { pages: 1 })
            .metadata()
            .catch(() => undefined)
        )?.width;
        if (!width) continue;
        const encode = (encoding: (typeof REENCODINGS)[number], dir: string, name: string) =>
          encoding
            .apply(sharp(original, { pages: 1 }).rotate().flatten({ background: '#ffffff' }), width)
            .toFile(path.join(dir, name));
        for (const encoding of REENCODINGS) {
          const copy = `${file}.dup-${encoding.name}.${extensionOf(encoding.name)}`;
          await encode(encoding, to, copy);
          copies.set(`${splitName}/${cls}/${copy}`, `${splitName}/${cls}/${file}`);
        }
        if (leaked.size < (options.leakToVal ?? 0) && seen++ % 50 === 0) {
          const valDir = path.join(target, 'val', cls);
          await mkdir(valDir, { recursive: true });
          const name = `${file}.leaked.${extensionOf(REENCODINGS[0]!.name)}`;
          await encode(REENCODINGS[0]!, valDir, name);
          leaked.set(`val/${cls}/${name}`, `${splitName}/${cls}/${file}`);
        }
      }
    }
  }
  return { copies, leaked };
}

function extensionOf(encoding: string): string {
  return encoding.startsWith('webp') ? 'webp' : 'jpg';
}
