import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { decodeNpy, encodeNpy } from '../../../core/features/npy.js';
import { PYTHON, withTempDir } from '../../helpers/paths.js';

test('npy round-trips float32 and int32, with a 64-byte aligned header', () => {
  const f = Float32Array.from({ length: 12 }, (_, i) => i / 3);
  const bytes = encodeNpy(f, [3, 4]);
  assert.equal((bytes.length - f.byteLength) % 64, 0);
  const back = decodeNpy(bytes);
  assert.deepEqual(back.shape, [3, 4]);
  assert.deepEqual(Array.from(back.data as Float32Array), Array.from(f));
  const ints = decodeNpy(encodeNpy(Int32Array.from([5, -1, 7]), [3]));
  assert.deepEqual(Array.from(ints.data as Int32Array), [5, -1, 7]);
  assert.throws(() => decodeNpy(new Uint8Array([1, 2, 3])), /not a .npy/);
  // Files come back from fs as Buffers that may be views into a larger pool: decode must honour the view.
  const pooled = Buffer.concat([Buffer.alloc(24, 7), Buffer.from(bytes)]).subarray(24);
  assert.deepEqual(Array.from(decodeNpy(pooled).data as Float32Array), Array.from(f));
});

test('numpy.load reads a shard exactly as written (the documented way to use the cache from Python)', () =>
  withTempDir(async (dir) => {
    const file = path.join(dir, 'shard.npy');
    await writeFile(file, encodeNpy(Float32Array.from([1.5, -2, 3.25, 4, 5, 6]), [2, 3]));
    const out = execFileSync(
      PYTHON,
      ['-c', `import numpy as np; a = np.load(${JSON.stringify(file)}); print(a.dtype, a.shape, a.ravel().tolist())`],
      { encoding: 'utf8' },
    );
    assert.equal(out.trim(), 'float32 (2, 3) [1.5, -2.0, 3.25, 4.0, 5.0, 6.0]');
  }));
