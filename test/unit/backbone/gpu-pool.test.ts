import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { ExtractionPool } from '../../../core/backbone/extraction-pool.js';
import { GpuPool } from '../../../core/backbone/gpu-pool.js';
import { BUILTIN_MODELS } from '../../../core/models/builtin.js';
import type { EmbedItem, EmbedResult } from '../../../core/ports/embedder.js';
import { garbage, jpeg, truncate } from '../../helpers/image-fixtures.js';
import { HYMENOPTERA, MODELS_DIR } from '../../helpers/paths.js';

const d = BUILTIN_MODELS.find((m) => m.name === 'mobilenetv2-12-int8')!;
const modelPath = path.join(MODELS_DIR, d.name, d.file);

async function items(): Promise<EmbedItem[]> {
  const dir = path.join(HYMENOPTERA, 'val', 'bees');
  const files = (await readdir(dir)).sort().slice(0, 10);
  const good = await Promise.all(
    files.map(async (f) => ({ id: f, bytes: new Uint8Array(await readFile(path.join(dir, f))) })),
  );
  return [...good, { id: 'garbage', bytes: garbage() }, { id: 'truncated', bytes: truncate(await jpeg()) }];
}

const byId = (results: EmbedResult[]) => new Map(results.map((r) => [r.id, r]));

test("the GPU pool (decoders on every core, one inference session) gives the CPU pool's codes and rejects, batch after batch", async () => {
  const batch = await items();
  const options = {
    modelPath,
    descriptor: d,
    cuts: ['final', 'block13'],
    workers: 2,
    executionProvider: 'cpu' as const,
    target: 'cpu' as const,
  };
  const cpu = await ExtractionPool.start({ ...options, batchSize: 4 });
  const gpu = await GpuPool.start({ ...options, batchSize: 12 });
  try {
    assert.equal(gpu.batchSize, 12);
    const expected = byId(
      (await Promise.all([batch.slice(0, 6), batch.slice(6)].map((b) => cpu.embedBatch(b)))).flat(),
    );
    // Three batches in flight at once, as the extraction run keeps them: every image comes back exactly once.
    const rounds = await Promise.all([
      gpu.embedBatch(batch),
      gpu.embedBatch(batch.slice(3)),
      gpu.embedBatch(batch.slice(0, 5)),
    ]);
    assert.deepEqual(
      rounds.map((r) => r.length),
      [12, 9, 5],
    );
    for (const results of rounds) {
      for (const [id, result] of byId(results)) {
        const reference = expected.get(id)!;
        if ('error' in reference) {
          assert.ok('error' in result, `${id} must be rejected`);
          assert.equal(result.error.kind, reference.error.kind);
        } else {
          assert.ok('codes' in result, `${id}: ${JSON.stringify(result)}`);
          for (const cut of options.cuts) assert.deepEqual(result.codes[cut], reference.codes[cut], `${id} ${cut}`);
        }
      }
    }
    assert.ok('error' in expected.get('garbage')! && 'error' in expected.get('truncated')!);
  } finally {
    await Promise.all([cpu.close(), gpu.close()]);
  }
});
