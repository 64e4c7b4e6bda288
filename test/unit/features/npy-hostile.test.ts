import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { npyShard, readNpyLabels } from '../../../core/adapters/npy-file-rows.js';
import { DataError } from '../../../core/errors.js';
import { decodeNpy, encodeNpy } from '../../../core/features/npy.js';
import { parseNpyHeader } from '../../../core/features/npy-header.js';
import { npyWith } from '../../helpers/hostile-files.js';
import { withTempDir } from '../../helpers/paths.js';

function int64(values: bigint[]): Uint8Array {
  return new Uint8Array(BigInt64Array.from(values).buffer);
}

const isDataError = (pattern: RegExp) => (err: unknown) => err instanceof DataError && pattern.test(err.message);

test('D3: a label of 2³¹−1 among three rows is refused before anything is sized by it', () =>
  withTempDir(async (dir) => {
    const file = path.join(dir, 'y.npy');
    await writeFile(file, encodeNpy(Int32Array.from([0, 1, 2 ** 31 - 1]), [3]));
    await assert.rejects(readNpyLabels(file), isDataError(/2147483648 classes, more than the 3 rows/));
  }));

test('D4: an int64 label beyond int32 is an error, not a wrap (2³²+1 used to become 1)', () =>
  withTempDir(async (dir) => {
    const file = path.join(dir, 'y.npy');
    await writeFile(
      file,
      npyWith("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", int64([0n, 2n ** 32n + 1n])),
    );
    await assert.rejects(readNpyLabels(file), isDataError(/within int32; found 4294967297 at row 1/));
    await writeFile(file, npyWith("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", int64([1n, -1n])));
    await assert.rejects(readNpyLabels(file), isDataError(/found -1 at row 1/));
    await writeFile(file, npyWith("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", int64([1n, 0n])));
    assert.deepEqual(Array.from(await readNpyLabels(file)), [1, 0]);
  }));

test('D5: the header is parsed as a Python dict literal: types, unique keys, Fortran order, whole shapes', () => {
  const body = new Uint8Array(4 * 6);
  const bad: [string, RegExp][] = [
    ["{'descr': '<f4', 'fortran_order': 1, 'shape': (2, 3), }", /fortran_order is not True or False/],
    ["{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", /Fortran order is not supported/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (6, 1), 'shape': (2, 3), }", /key "shape" is repeated/],
    ["{'x': \"'descr': '<i8'\", 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", /keys must be descr/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", /whole numbers ≥ 0/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (20.5, 3), }", /whole numbers ≥ 0/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", /integer, not a tuple/],
    ["{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", /dtype ">f4" is not supported/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } junk", /text after the dict/],
  ];
  for (const [header, pattern] of bad)
    assert.throws(() => decodeNpy(npyWith(header, body)), isDataError(pattern), header);
  // A Fortran-order vector is the same bytes as a C-order one: read.
  const vector = parseNpyHeader(npyWith("{'descr': '<i4', 'fortran_order': True, 'shape': (6,)}", body));
  assert.deepEqual(vector.shape, [6]);
  assert.deepEqual(decodeNpy(npyWith('{"descr":"<f4","fortran_order":False,"shape":(2,3)}', body)).shape, [2, 3]);
});

test('D5: code shards with a negative or fractional row count are DataErrors, not a RangeError or a wrong CV', () =>
  withTempDir(async (dir) => {
    const file = path.join(dir, 'X.npy');
    for (const shape of ['(-2, 3)', '(20.5, 3)']) {
      await writeFile(
        file,
        npyWith(`{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`, new Uint8Array(4096)),
      );
      await assert.rejects(npyShard(file), isDataError(/whole numbers ≥ 0/), shape);
    }
  }));
