import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { ExtractionPool } from '../../core/backbone/extraction-pool.js';
import { mirrorRgb } from '../../core/image/preprocess.js';
import { ModelRegistry, resolveModelFile } from '../../core/models/registry.js';
import { parseDescriptor } from '../../core/models/descriptor.js';
import { pattern } from '../helpers/image-fixtures.js';
import { MODELS_DIR, requireShared } from '../helpers/paths.js';

test("mirrorRgb reverses each row of pixels and keeps each pixel's channels in order", () => {
  const crop = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // 2 rows × 2 pixels
  assert.deepEqual([...mirrorRgb(crop, 2)], [4, 5, 6, 1, 2, 3, 10, 11, 12, 7, 8, 9]);
});

test('tta "flip": the stored code is the mean of the codes of the image and of its mirror image', async () => {
  requireShared();
  const model = await new ModelRegistry().lookup('mobilenetv2-12-int8', [MODELS_DIR]);
  const resolved = await resolveModelFile(model, { modelsDirs: [MODELS_DIR], allowDownload: false });
  // 256×256: resize is a no-op and the centre crop's margins are equal, so cropping commutes with mirroring.
  const image = await pattern(256, 256).png().toBuffer();
  const mirror = await sharp(image).flop().png().toBuffer();
  const embed = async (descriptor: typeof model.descriptor, items: Array<{ id: string; bytes: Uint8Array }>) => {
    const pool = await ExtractionPool.start({ modelPath: resolved.path, descriptor, cuts: ['final'], workers: 1 });
    try {
      const codes = new Map<string, Float32Array>();
      for (const r of await pool.embedBatch(items)) if ('codes' in r) codes.set(r.id, r.codes.final!);
      return codes;
    } finally {
      await pool.close();
    }
  };
  const flipped = { ...model.descriptor, preprocess: { ...model.descriptor.preprocess, tta: 'flip' as const } };
  assert.doesNotThrow(() => parseDescriptor(flipped));
  const plain = await embed(model.descriptor, [
    { id: 'image', bytes: image },
    { id: 'mirror', bytes: mirror },
  ]);
  const averaged = await embed(flipped, [
    { id: 'image', bytes: image },
    { id: 'mirror', bytes: mirror },
  ]);
  const a = plain.get('image')!;
  const b = plain.get('mirror')!;
  const t = averaged.get('image')!;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(t[i]! - (a[i]! + b[i]!) / 2));
  assert.ok(worst < 1e-4, `largest difference ${worst}`);
  assert.ok(
    a.some((v, i) => Math.abs(v - b[i]!) > 1e-3),
    'the mirror really gives another code',
  );
  const symmetric = averaged.get('mirror')!;
  for (let i = 0; i < t.length; i++)
    assert.ok(Math.abs(symmetric[i]! - t[i]!) < 1e-4, 'an image and its mirror share one TTA code');
});

test('a descriptor with an unknown tta is refused', () => {
  return new ModelRegistry().lookup('mobilenetv2-12-int8', [MODELS_DIR]).then((model) => {
    assert.throws(
      () => parseDescriptor({ ...model.descriptor, preprocess: { ...model.descriptor.preprocess, tta: 'rotate' } }),
      /preprocess\.tta/,
    );
  });
});
