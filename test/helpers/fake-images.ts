import { mkdir, utimes, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

/** Two classes of train images and one val image each: the smallest dataset the use cases accept. */
export const SIX_IMAGES = [
  'train/a/1.jpg',
  'train/a/2.jpg',
  'train/b/3.jpg',
  'train/b/4.jpg',
  'val/a/5.jpg',
  'val/b/6.jpg',
];

/** Files named like images holding "bytes of <name>" (a fake embedder's input), dated a minute ago. */
export async function writeImages(dir: string, names: string[]): Promise<void> {
  const past = new Date(Date.now() - 60_000); // older than the racy window, as files that were not just copied are
  for (const name of names) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), `bytes of ${name}`);
    await utimes(path.join(dir, name), past, past);
  }
}
