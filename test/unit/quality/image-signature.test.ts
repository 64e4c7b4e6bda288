import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import sharp from 'sharp';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { mulberry32 } from '../../../core/heads/prng.js';
import { memoryRows, searchByCells } from '../../../core/quality/cell-search.js';
import {
  CANDIDATE_COSINE,
  findDuplicates,
  NEAR_DUPLICATE_COSINE,
  nearDuplicateRule,
  SAME_PICTURE_BITS,
  signatureConfirmedPairs,
} from '../../../core/quality/duplicates.js';
import {
  cacheImageSignatures,
  emptySignatures,
  hammingDistance,
  IMAGE_SIGNATURES_KEY,
  imageSignaturesOf,
  mergeSignatures,
  perceptualHash,
  SIGNATURE_BYTES,
  SIGNATURE_SIDE,
  signaturePairs,
  type ImageSignatures,
} from '../../../core/quality/image-signature.js';
import { normalizedRows, searchSimilar } from '../../../core/quality/near-duplicates.js';
import { withTempDir } from '../../helpers/paths.js';

/** A seeded RGB picture of blobs of colour, `side` pixels square. */
function picture(seed: number, side: number): Buffer {
  const random = mulberry32(seed);
  const blobs = Array.from({ length: 6 }, () => ({
    x: random() * side,
    y: random() * side,
    r: side * (0.1 + 0.3 * random()),
    c: [255 * random(), 255 * random(), 255 * random()],
  }));
  const out = Buffer.alloc(side * side * 3, 128);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++)
      for (const b of blobs)
        if ((x - b.x) ** 2 + (y - b.y) ** 2 < b.r ** 2)
          for (let c = 0; c < 3; c++) out[(y * side + x) * 3 + c] = b.c[c]!;
  return out;
}

const png = (seed: number, side: number) =>
  sharp(picture(seed, side), { raw: { width: side, height: side, channels: 3 } })
    .png()
    .toBuffer();

/** A folder none of whose files can be read. */
class Unreadable extends FsBlobStore {
  override get(): Promise<Uint8Array> {
    return Promise.reject(new Error('read'));
  }
}

/** Signatures of the given rows' images, one per row. */
function signaturesOf(rows: Uint8Array[]): ImageSignatures {
  const out = emptySignatures(rows.length);
  rows.forEach((bits, i) => {
    out.bits.set(bits, i * SIGNATURE_BYTES);
    out.present[i] = 1;
  });
  return out;
}

test('perceptualHash: a brightened, noisy copy of a thumbnail is a few bits from it; another picture is far', () => {
  const random = mulberry32(4);
  const gray = (seed: number) => {
    const rgb = picture(seed, SIGNATURE_SIDE);
    return Uint8Array.from({ length: SIGNATURE_SIDE ** 2 }, (_, p) => rgb[p * 3]!);
  };
  const a = gray(1);
  const copy = a.map((v) => Math.min(255, Math.max(0, v * 0.9 + 20 + 6 * (random() - 0.5))));
  const other = gray(2);
  const bits = signaturesOf([perceptualHash(a), perceptualHash(copy), perceptualHash(other)]).bits;
  assert.ok(hammingDistance(bits, 0, 1) <= 4, `copy ${hammingDistance(bits, 0, 1)} bits away`);
  assert.ok(hammingDistance(bits, 0, 2) > SAME_PICTURE_BITS + 6, `other ${hammingDistance(bits, 0, 2)} bits away`);
  assert.equal(hammingDistance(bits, 2, 2), 0);
  assert.throws(() => perceptualHash(new Uint8Array(10)), /pixels/);
});

test('imageSignaturesOf: a re-encoded copy within SAME_PICTURE_BITS of its original, others far; cached by content hash; an unreadable image has none', async () => {
  await withTempDir(async (dir) => {
    const original = await png(1, 200);
    await writeFile(path.join(dir, 'a.png'), original);
    await sharp(original).resize(160).jpeg({ quality: 60 }).toFile(path.join(dir, 'a-copy.jpg'));
    await writeFile(path.join(dir, 'b.png'), await png(2, 180));
    await writeFile(path.join(dir, 'broken.jpg'), 'not an image');
    const data = new FsBlobStore(dir);
    const workspace = new FsBlobStore(path.join(dir, 'ws'));
    const entries = ['a.png', 'a-copy.jpg', 'b.png', 'broken.jpg'].map((key) => ({ key, contentHash: `h-${key}` }));
    const signatures = (await imageSignaturesOf({ data, workspace }, entries))!;
    assert.deepEqual([...signatures.present], [1, 1, 1, 0]);
    assert.ok(hammingDistance(signatures.bits, 0, 1) <= SAME_PICTURE_BITS, 'copy near its original');
    assert.ok(hammingDistance(signatures.bits, 0, 2) > SAME_PICTURE_BITS, 'distinct pictures apart');
    // Second read: from the cache, the images not touched (a store that fails every read).
    const cached = (await imageSignaturesOf({ data: new Unreadable(dir), workspace }, entries.slice(0, 3)))!;
    assert.deepEqual(cached.bits, signatures.bits.subarray(0, 3 * SIGNATURE_BYTES));
    assert.ok(await workspace.exists(IMAGE_SIGNATURES_KEY));
    // No images (a serverless train step, `train --codes`): the cache's signatures, rows it lacks without one.
    const fromCache = (await imageSignaturesOf({ workspace }, [...entries].reverse()))!;
    assert.deepEqual([...fromCache.present], [0, 1, 1, 1], 'the unreadable image has none');
    assert.deepEqual(
      fromCache.bits.subarray(SIGNATURE_BYTES),
      Uint8Array.from(
        [2, 1, 0].flatMap((r) => [...signatures.bits.subarray(r * SIGNATURE_BYTES, (r + 1) * SIGNATURE_BYTES)]),
      ),
    );
    const none = path.join(dir, 'empty-ws');
    assert.equal(await imageSignaturesOf({ workspace: new FsBlobStore(none) }, entries), undefined, 'no cache: none');
    const unknown = entries.map((e) => ({ ...e, contentHash: `other-${e.key}` }));
    assert.equal(await imageSignaturesOf({ workspace }, unknown), undefined, 'none of these rows cached: none');
  });
});

test('cacheImageSignatures adds to the cache what imageSignaturesOf reads; mergeSignatures joins parts, absent when none has any', async () => {
  await withTempDir(async (dir) => {
    const workspace = new FsBlobStore(dir);
    assert.deepEqual(mergeSignatures([{}, { signatures: undefined }]), {});
    const merged = mergeSignatures([
      { signatures: { a: '0123456789abcdef' } },
      {},
      { signatures: { b: 'fedcba9876543210' } },
    ]);
    assert.deepEqual(merged, { signatures: { a: '0123456789abcdef', b: 'fedcba9876543210' } });
    await cacheImageSignatures(workspace, {}, []);
    assert.equal(await workspace.exists(IMAGE_SIGNATURES_KEY), false, 'nothing new: nothing written');
    await cacheImageSignatures(workspace, merged.signatures, []);
    await cacheImageSignatures(workspace, { c: '00000000000000ff', bad: 'not hex' }, []);
    const found = (await imageSignaturesOf(
      { workspace },
      ['c', 'a', 'bad', 'b'].map((h) => ({ key: h, contentHash: h })),
    ))!;
    assert.deepEqual([...found.present], [1, 1, 0, 1]);
    assert.equal(Buffer.from(found.bits.subarray(0, SIGNATURE_BYTES)).toString('hex'), '00000000000000ff');
    assert.equal(Buffer.from(found.bits.subarray(24, 32)).toString('hex'), 'fedcba9876543210');
  });
});

test('nearDuplicateRule: with signatures a candidate is confirmed by them, above or below the codes threshold; without one, the codes decide', () => {
  const same = new Uint8Array(SIGNATURE_BYTES).fill(0b1010_1010);
  const far = same.map((v) => v ^ 0xff);
  const signatures = signaturesOf([same, same, far, same]);
  signatures.present[3] = 0;
  const rule = nearDuplicateRule(signatures);
  assert.equal(rule.threshold, CANDIDATE_COSINE);
  assert.ok(rule.byImage);
  assert.equal(rule.accept!(0, 1, 0.82), true, 'same signature at 0.82: a copy the codes alone miss');
  assert.equal(rule.accept!(0, 2, 0.95), false, 'distant signatures at 0.95: similar-looking, not the same');
  assert.equal(rule.accept!(0, 3, 0.85), false, 'no signature, below the codes threshold');
  assert.equal(rule.accept!(0, 3, 0.9), true, 'no signature, at or above the codes threshold');
  const codesOnly = nearDuplicateRule();
  assert.deepEqual(codesOnly, { threshold: NEAR_DUPLICATE_COSINE, byImage: false });
});

test('a rejected pair takes no place among the partners: the exact, the cell and the duplicate search keep only accepted pairs', async () => {
  // Row 0 and its copies 1..4 (cosine ≈ 0.99); only the pair (0, 4) is accepted.
  const d = 16;
  const random = mulberry32(9);
  const base = Float32Array.from({ length: d }, () => random());
  const X = new Float32Array(6 * d);
  for (let r = 0; r < 5; r++) for (let t = 0; t < d; t++) X[r * d + t] = base[t]! + 0.02 * random();
  for (let t = 0; t < d; t++) X[5 * d + t] = random();
  const accept = (i: number, j: number) => i === 0 && j === 4;
  const options = { threshold: 0.8, topK: 1, accept };
  const exact = searchSimilar(normalizedRows(X, 6, d), d, options);
  assert.deepEqual(
    exact.pairs.map((p) => [p.i, p.j]),
    [[0, 4]],
  );
  const cells = await searchByCells(memoryRows(X, d), options);
  assert.deepEqual(
    cells.pairs.map((p) => [p.i, p.j]),
    [[0, 4]],
  );
  // Signatures 32 or more bits apart except rows 0 and 4 (the same).
  const filled = (byte: number) => new Uint8Array(SIGNATURE_BYTES).fill(byte);
  const found = findDuplicates(
    ['h0', 'h1', 'h2', 'h3', 'h4', 'h5'],
    normalizedRows(X, 6, d),
    d,
    nearDuplicateRule(signaturesOf([0x00, 0xff, 0x0f, 0xf0, 0x00, 0x55].map(filled))),
  );
  assert.deepEqual(found.groups, [[0, 4]]);
});

test('signaturePairs finds exactly the pairs at most maxBits apart that a comparison of every pair finds', () => {
  const random = mulberry32(12);
  const n = 400;
  const rows = Array.from({ length: n }, () => Uint8Array.from({ length: SIGNATURE_BYTES }, () => random() * 256));
  // Every 8th row a copy of the row before with 0–12 of its 63 bits flipped.
  for (let i = 8; i < n; i += 8) {
    const copy = Uint8Array.from(rows[i - 1]!);
    for (let f = Math.floor(random() * 13); f > 0; f--) {
      const bit = Math.floor(random() * 63);
      copy[bit >> 3]! ^= 1 << (bit & 7);
    }
    rows[i] = copy;
  }
  const signatures = signaturesOf(rows);
  signatures.present[16] = 0;
  const brute: string[] = [];
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++)
      if (signatures.present[i] && signatures.present[j] && hammingDistance(signatures.bits, i, j) <= 10)
        brute.push(`${i},${j}`);
  const found = signaturePairs(signatures, 10, n).map(([i, j]) => `${i},${j}`);
  assert.ok(brute.length >= 30, `${brute.length} pairs to find`);
  assert.deepEqual(found.sort(), brute.sort());
  assert.ok(!found.some((p) => p.split(',').includes('16')), 'a row without a signature takes no part');
  assert.ok(signaturePairs(signaturesOf(Array.from({ length: 50 }, () => rows[0]!)), 10, 3).length <= 50 * 3);
});

test('signatureConfirmedPairs: pairs the signatures propose, kept where the codes reach the candidate cosine, from those rows alone', async () => {
  const d = 8;
  // Rows 0/1: cosine 0.85, same signature (kept); 2/3: same signature, cosine 0 (dropped); 4/5: cosine 1, signatures
  // far apart (not proposed).
  const X = new Float32Array(6 * d);
  X.set([1, 0, 0, 0, 0, 0, 0, 0], 0);
  X.set([0.85, Math.sqrt(1 - 0.85 ** 2), 0, 0, 0, 0, 0, 0], d);
  X.set([0, 0, 1, 0, 0, 0, 0, 0], 2 * d);
  X.set([0, 0, 0, 1, 0, 0, 0, 0], 3 * d);
  X.set([0, 0, 0, 0, 1, 1, 0, 0], 4 * d);
  X.set([0, 0, 0, 0, 2, 2, 0, 0], 5 * d);
  const filled = (byte: number) => new Uint8Array(SIGNATURE_BYTES).fill(byte);
  const rule = nearDuplicateRule(signaturesOf([0x11, 0x11, 0x0f, 0x0f, 0x00, 0xff].map(filled)));
  const asked: number[][] = [];
  const pairs = await signatureConfirmedPairs(
    rule,
    (rows) => {
      asked.push([...rows]);
      return memoryRows(X, d).read(rows);
    },
    d,
  );
  assert.deepEqual(
    pairs.map((p) => [p.i, p.j]),
    [[0, 1]],
  );
  assert.ok(Math.abs(pairs[0]!.cosine - 0.85) < 1e-6);
  assert.deepEqual(asked, [[0, 1, 2, 3]], 'only the proposed rows are read');
  assert.deepEqual(await signatureConfirmedPairs(nearDuplicateRule(), () => Promise.reject(new Error('read')), d), []);
});

test('cacheImageSignatures through a remembered file: a run adds its signatures there, a later run that read no image gets those of its entries', async () => {
  await withTempDir(async (dir) => {
    const remembered = { store: new FsBlobStore(path.join(dir, 'cache')), key: 'sources/d.signatures.json' };
    const first = new FsBlobStore(path.join(dir, 'first'));
    const entries = ['a', 'b', 'c'].map((contentHash) => ({ contentHash }));
    await cacheImageSignatures(first, { a: '0123456789abcdef', b: 'fedcba9876543210' }, entries, remembered);
    assert.ok(await remembered.store.exists(remembered.key));
    // A re-run: its workers read nothing (no signature of their own), but one new image, read and signed.
    const second = new FsBlobStore(path.join(dir, 'second'));
    await cacheImageSignatures(second, { c: '00000000000000ff' }, [...entries, { contentHash: 'd' }], remembered);
    const rows = ['a', 'b', 'c', 'd'].map((h) => ({ key: h, contentHash: h }));
    const inFirst = (await imageSignaturesOf({ workspace: first }, rows))!;
    const inSecond = (await imageSignaturesOf({ workspace: second }, rows))!;
    assert.deepEqual([...inFirst.present], [1, 1, 0, 0]);
    assert.deepEqual([...inSecond.present], [1, 1, 1, 0]);
    assert.deepEqual(inSecond.bits.subarray(0, 2 * SIGNATURE_BYTES), inFirst.bits.subarray(0, 2 * SIGNATURE_BYTES));
    // Only the entries of the run: a signature the remembered file has of another image is not copied.
    const third = new FsBlobStore(path.join(dir, 'third'));
    await cacheImageSignatures(third, undefined, [{ contentHash: 'c' }], remembered);
    assert.deepEqual([...(await imageSignaturesOf({ workspace: third }, rows))!.present], [0, 0, 1, 0]);
  });
});
