import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodeToRgb } from '../../core/image/preprocess.js';
import { sharpInput } from '../../core/image/sharp-input.js';
import { IMAGENET_SPEC } from '../helpers/image-fixtures.js';
import { PYTHON, REPO_ROOT, withTempDir } from '../helpers/paths.js';

/**
 * The formats decoded beside sharp (BMP, Netpbm, TGA, ICO) against PIL itself: PIL writes the files (by hand where it
 * cannot write a variant: plain Netpbm, odd maxvals, 16-bit TGA, paletted ICO entries with AND masks,
 * 4-bit and RLE BMPs) and decodes
 * them; our pixels must equal PIL's, byte for byte, before and through the whole preprocessing.
 */

interface Fixture {
  name: string;
  width: number;
  height: number;
  mode: string;
  reference: string;
}

/** Our decode as RGBA, the form PIL's reference is in (grey widened, missing alpha opaque). */
async function decodedRgba(bytes: Uint8Array): Promise<{ rgba: Buffer; width: number; height: number }> {
  const { input, options } = sharpInput(bytes, 100_000_000);
  if (!options.raw) {
    const { data, info } = await sharp(input).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    return { rgba: data, width: info.width, height: info.height };
  }
  const { width, height, channels } = options.raw;
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const p = input.subarray(i * channels, (i + 1) * channels);
    const [r, g, b, a] =
      channels <= 2
        ? [p[0]!, p[0]!, p[0]!, channels === 2 ? p[1]! : 255]
        : [p[0]!, p[1]!, p[2]!, channels === 4 ? p[3]! : 255];
    rgba.set([r, g, b, a], i * 4);
  }
  return { rgba, width, height };
}

test('BMP, Netpbm, TGA and ICO decode to exactly the pixels PIL decodes', async () => {
  await withTempDir(async (dir) => {
    const lines = execFileSync(PYTHON, [path.join(REPO_ROOT, 'test', 'helpers', 'pil_formats.py'), dir], {
      encoding: 'utf8',
    });
    const fixtures = lines
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Fixture);
    // The generator's coverage, so a fixture it stops writing does not pass unnoticed.
    assert.equal(fixtures.length, 37);
    for (const modes of [['1', 'L', 'I', 'RGB'], ['L', 'P', 'RGB', 'RGBA'], ['RGBA']])
      assert.ok(modes.every((m) => fixtures.some((f) => f.mode === m)));
    for (const fixture of fixtures) {
      const bytes = await readFile(path.join(dir, fixture.name));
      const ours = await decodedRgba(bytes);
      assert.deepEqual([ours.width, ours.height], [fixture.width, fixture.height], fixture.name);
      const reference = await readFile(path.join(dir, fixture.reference));
      const differing = ours.rgba.reduce((n, v, i) => n + (v === reference[i] ? 0 : 1), 0);
      assert.equal(
        differing,
        0,
        `${fixture.name} (PIL mode ${fixture.mode}): ${differing} of ${reference.length} bytes differ from PIL`,
      );

      // Through the whole preprocessing: the same crop as the same pixels stored as PNG.
      const png = await sharp(reference, { raw: { width: fixture.width, height: fixture.height, channels: 4 } })
        .png()
        .toBuffer();
      assert.deepEqual(
        await decodeToRgb(bytes, IMAGENET_SPEC),
        await decodeToRgb(png, IMAGENET_SPEC),
        `${fixture.name}: crop`,
      );
    }
  });
});
