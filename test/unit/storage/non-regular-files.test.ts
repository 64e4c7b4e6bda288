import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { readImageFile } from '../../../core/adapters/regular-file.js';
import { DataError, InvalidImageError } from '../../../core/errors.js';
import { predictWithClassifier } from '../../../core/use-cases/predict.js';
import { withTempDir } from '../../helpers/paths.js';

/** Fails instead of hanging: a blocking open of a FIFO never returns. */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms).unref()),
  ]);
}

test('D12: a FIFO given as an image is a reject of kind "unreadable", never opened for a blocking read', (t) =>
  withTempDir(async (dir) => {
    const fifo = path.join(dir, 'pipe.jpg');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return t.skip('no mkfifo');
    await assert.rejects(
      within(2000, readImageFile(fifo)),
      (err: unknown) =>
        err instanceof InvalidImageError && err.kind === 'unreadable' && /not a regular file/.test(err.message),
    );
    await assert.rejects(within(2000, new FsBlobStore(dir).get('pipe.jpg')), DataError);
    const results = await within(
      2000,
      predictWithClassifier(
        {
          openClassifier: async () => ({
            classes: ['a', 'b'],
            batchSize: 4,
            classify: async (items) => items.map((i) => ({ id: i.id, probabilities: [0.25, 0.75] })),
            close: async () => undefined,
          }),
        },
        [
          { key: fifo, read: () => readImageFile(fifo) },
          { key: 'ok.jpg', read: async () => new Uint8Array(3) },
        ],
      ),
    );
    assert.deepEqual(results[0], {
      key: fifo,
      error: { kind: 'unreadable', message: 'not a regular file (a folder, FIFO, socket or device): never read' },
    });
    assert.equal((results[1] as { top: Array<{ label: string }> }).top[0]!.label, 'b');
  }));

test('D9: an image over the size limit is refused from its size, before any byte is read', () =>
  withTempDir(async (dir) => {
    const sparse = path.join(dir, 'big.jpg');
    writeFileSync(sparse, '');
    spawnSync('truncate', ['-s', '3G', sparse]);
    await assert.rejects(
      readImageFile(sparse),
      (err: unknown) => err instanceof InvalidImageError && err.kind === 'too-large',
    );
  }));
