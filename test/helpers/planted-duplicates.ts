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
 * copied as they are. Returns how many copies were planted and which file each came from.
 */
export async function plantDuplicates(source: string, target: string, split = 'train'): Promise<{ copies: Map<string, string> }> {
  const copies = new Map<string, string>();
  for (const splitName of await readdir(source)) {
    const splitDir = path.join(source, splitName);
    for (const cls of await readdir(splitDir).catch(() => [] as string[])) {
      const from = path.join(splitDir, cls);
      const to = path.join(target, splitName, cls);
      await mkdir(to, { recursive: true });
      for (const file of await readdir(from)) {
        await copyFile(path.join(from, file), path.join(to, file));
        if (splitName !== split) continue;
        const original = path.join(from, file);
        const width = (await sharp(original, { pages: 1 }).metadata().catch(() => undefined))?.width;
        if (!width) continue;
        for (const encoding of REENCODINGS) {
          const ext = encoding.name.startsWith('webp') ? 'webp' : 'jpg';
          const copy = `${file}.dup-${encoding.name}.${ext}`;
          await encoding.apply(sharp(original, { pages: 1 }).rotate().flatten({ background: '#ffffff' }), width).toFile(path.join(to, copy));
          copies.set(`${splitName}/${cls}/${copy}`, `${splitName}/${cls}/${file}`);
        }
      }
    }
  }
  return { copies };
}
