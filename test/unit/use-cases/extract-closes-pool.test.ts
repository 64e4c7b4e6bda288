import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { DataError } from '../../../core/errors.js';
import { FeatureStore } from '../../../core/features/feature-store.js';
import { BUILTIN_MODELS } from '../../../core/models/builtin.js';
import type { BlobStore } from '../../../core/ports/blob-store.js';
import type { Embedder, EmbedItem } from '../../../core/ports/embedder.js';
import { extractItems } from '../../../core/use-cases/extract.js';
import { withTempDir } from '../../helpers/paths.js';

test('D8: an error while admitting images closes the worker pool, and no image is read after it', () =>
  withTempDir(async (dir) => {
    const model = { descriptor: BUILTIN_MODELS.find((d) => d.name === 'mobilenetv2-12-int8')! };
    let opened = 0;
    let closed = 0;
    let readsAfterFailure = 0;
    let failed = false;
    const embedder: Embedder = {
      parallelism: 1,
      batchSize: 2,
      embedBatch: async (items: EmbedItem[]) =>
        items.map((item) => ({ id: item.id, codes: { final: new Float32Array(1280) } })),
      close: async () => {
        closed++;
      },
    };
    // Image 5 cannot be read (say, a 3 GiB sparse file); the others are slow enough to still be in flight then.
    const data = {
      location: 'file:///fake',
      async get(key: string) {
        if (failed) readsAfterFailure++;
        await new Promise((r) => setTimeout(r, 5));
        if (key === 'img5') {
          failed = true;
          throw new DataError('img5: 3221225472 bytes, over the limit');
        }
        return new TextEncoder().encode(key);
      },
    } as unknown as BlobStore;
    const items = Array.from({ length: 40 }, (_, i) => ({ key: `img${i}`, split: 'train', label: i % 2 }));
    await assert.rejects(
      extractItems(
        {
          data,
          features: new FeatureStore(new FsBlobStore(dir), 'codes'),
          model,
          openEmbedder: async () => {
            opened++;
            return embedder;
          },
        },
        items,
        ['final'],
        { readConcurrency: 4 },
      ),
      /over the limit/,
    );
    assert.equal(opened, 1);
    assert.equal(closed, 1, 'the pool is closed on the error path');
    assert.ok(readsAfterFailure <= 3, `${readsAfterFailure} reads started after the failure`);
  }));
