import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidImageError } from '../../../core/errors.js';
import { decodeToRgb } from '../../../core/image/preprocess.js';
import { IMAGENET_SPEC } from '../../helpers/image-fixtures.js';

/** Pixel parity with PIL is in test/integration/pil-formats.test.ts (it needs the venv); these are the rejects. */

async function rejectsAs(bytes: Uint8Array, kind: string, message: RegExp): Promise<void> {
  await assert.rejects(decodeToRgb(bytes, IMAGENET_SPEC), (err: unknown) => {
    assert.ok(err instanceof InvalidImageError, String(err));
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, message);
    return true;
  });
}

test('a cut-off PPM is a truncated reject that says how much pixel data is missing', async () => {
  const ppm = Buffer.concat([Buffer.from('P6\n300 200\n255\n'), Buffer.alloc(1000, 7)]);
  await rejectsAs(ppm, 'truncated', /^truncated Netpbm: 1000 of 180000 bytes/);
});

test('a PGM whose sample exceeds maxval is a decode-failed reject, as PIL refuses it', async () => {
  await rejectsAs(Buffer.from('P2\n2 1\n10\n3 11\n'), 'decode-failed', /sample value 11 is above maxval 10/);
});

test('a cut-off TGA is a truncated reject', async () => {
  const header = Buffer.alloc(18);
  header[2] = 2;
  header.writeUInt16LE(300, 12);
  header.writeUInt16LE(300, 14);
  header[16] = 24;
  await rejectsAs(Buffer.concat([header, Buffer.alloc(5000)]), 'truncated', /^truncated TGA/);
});

test('an ICO whose chosen entry lies past the end of the file is a truncated reject', async () => {
  const ico = Buffer.alloc(22);
  ico.writeUInt16LE(1, 2);
  ico.writeUInt16LE(1, 4);
  ico[6] = 32;
  ico[7] = 32;
  ico.writeUInt32LE(4000, 14);
  ico.writeUInt32LE(22, 18);
  await rejectsAs(ico, 'truncated', /^truncated ICO: the file ends inside entry 0/);
});

test('a format PIL reads but cnn-codes does not decode is named in its reject, with the formats that are decoded', async () => {
  const psd = Buffer.concat([Buffer.from('8BPS'), Buffer.alloc(60)]);
  await rejectsAs(
    psd,
    'unsupported-format',
    /^PSD image: PIL reads this format, cnn-codes does not decode it \(it decodes JPEG, .*TGA, ICO\)/,
  );
});
