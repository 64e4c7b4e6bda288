import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import type { BlobInfo } from '../../../core/ports/blob-store.js';
import { FeatureStore } from '../../../core/features/feature-store.js';
import type { Manifest } from '../../../core/features/manifest.js';
import type { ExtractMessage } from '../../../core/messages/schema.js';
import { IMAGE_SIGNATURES_KEY, imageSignaturesOf } from '../../../core/quality/image-signature.js';
import { readShardPart } from '../../../core/use-cases/distributed/extract-shard.js';
import { planRun } from '../../../core/use-cases/distributed/plan-run.js';
import { handleWork } from '../../../core/use-cases/distributed/router.js';
import { trainRun } from '../../../core/use-cases/distributed/train-run.js';
import { extractItems } from '../../../core/use-cases/extract.js';
import { trainHead } from '../../../core/use-cases/train-head.js';
import type { HeadArtefact } from '../../../core/workspace/head-artefact.js';
import { forEachConcurrent } from '../../../core/util/concurrency.js';
import { fakeEmbedder, inProcessSetup } from '../../helpers/distributed.js';
import { withTempDir } from '../../helpers/paths.js';

/** A small PNG of a few coloured rectangles, distinct per seed. */
function png(seed: number): Promise<Buffer> {
  const side = 48 + (seed % 5) * 8;
  const rgb = Buffer.alloc(side * side * 3);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++)
      for (let c = 0; c < 3; c++)
        rgb[(y * side + x) * 3 + c] = ((((x * (seed + 1)) >> 3) ^ ((y * (c + 2) + seed * 7) >> 2)) * 37) & 255;
  return sharp(rgb, { raw: { width: side, height: side, channels: 3 } })
    .png()
    .toBuffer();
}

/** train/val × ants/bees × 3 PNGs, and a text file in train/ants that the stand-in embedder embeds but is no image. */
async function writeImages(root: string): Promise<FsBlobStore> {
  const store = new FsBlobStore(root);
  let seed = 0;
  for (const split of ['train', 'val'])
    for (const cls of ['ants', 'bees'])
      for (let i = 0; i < 3; i++) await store.put(`${split}/${cls}/${i}.png`, await png(seed++));
  await store.put('train/ants/9.jpg', 'no image at all');
  return store;
}

test('serverless: extract workers take each signature from the bytes they read; parts carry them into the cache train and evaluate read, equal to the local path; a non-image has none and fails nothing', () =>
  withTempDir(async (root) => {
    const data = await writeImages(path.join(root, 'data'));
    const setup = inProcessSetup(root);
    const plan = await planRun(setup.deps, setup.runMessage('sig', { shardSize: 2, cuts: ['final'] }));
    const extracts = JSON.parse(await readFile(plan.manifest.key, 'utf8')) as ExtractMessage[];
    assert.ok(extracts.length > 2);
    await forEachConcurrent(extracts, 4, (m) => handleWork(setup.deps, m).then(() => undefined));
    const workspace = new FsBlobStore(path.join(root, 'runs/sig'));
    const parts = await Promise.all(extracts.map((m) => readShardPart(workspace, m.shard.index)));
    const fromParts = Object.assign({}, ...parts.map((p) => p!.signatures ?? {})) as Record<string, string>;
    assert.equal(Object.keys(fromParts).length, 12, 'every image, the text file apart');

    await trainRun(setup.deps, plan.train);
    const manifest = JSON.parse(await readFile(path.join(root, 'runs/sig/manifest.json'), 'utf8')) as Manifest;
    assert.equal(manifest.entries.length, 13);
    // The same signatures as the local path decodes from the images (a workspace of its own).
    const local = (await imageSignaturesOf(
      { data, workspace: new FsBlobStore(path.join(root, 'local')) },
      manifest.entries,
    ))!;
    const remote = (await imageSignaturesOf({ workspace }, manifest.entries))!;
    assert.deepEqual([...remote.present], [...local.present]);
    assert.deepEqual(remote.bits, local.bits);
    assert.deepEqual(
      manifest.entries.filter((_, row) => remote.present[row] === 0).map((e) => e.key),
      ['train/ants/9.jpg'],
    );
    // Train's rule is the image-confirmed one, as a local head trained with the images: the same head.
    const head = (await workspace.getJson<HeadArtefact>('head.json'))!;
    assert.equal(head.quality?.confirmedByImage, true);
    const localWorkspace = new FsBlobStore(path.join(root, 'runs/sig-local'));
    await localWorkspace.put('manifest.json', JSON.stringify(manifest));
    const features = new FeatureStore(new FsBlobStore(root), 'cache');
    const byImages = (await trainHead({ workspace: localWorkspace, features, data }, plan.train.train)).artefact;
    assert.equal(byImages.quality?.confirmedByImage, true);
    assert.equal(head.cacheKey, byImages.cacheKey);
    assert.deepEqual(head.head, byImages.head);
    assert.ok(await workspace.exists(IMAGE_SIGNATURES_KEY));
  }));

/** A folder listed as S3 lists a bucket (each object's ETag: the MD5 of its bytes), counting the reads of its objects. */
class BucketLikeStore extends FsBlobStore {
  reads = 0;
  override async *list(prefix: string): AsyncIterable<BlobInfo> {
    for await (const blob of super.list(prefix))
      yield {
        ...blob,
        etag: createHash('md5')
          .update(await super.get(blob.key))
          .digest('hex'),
      };
  }
  override get(key: string): Promise<Uint8Array> {
    this.reads += 1;
    return super.get(key);
  }
}

test('a re-run over unchanged objects reads none of them, yet its train step has their signatures (kept per dataset in the code cache by the first run) and fits the same head', () =>
  withTempDir(async (root) => {
    await writeImages(path.join(root, 'data'));
    const setup = inProcessSetup(root);
    const data = new BucketLikeStore(path.join(root, 'data'));
    const openStore = setup.deps.openStore;
    setup.deps.openStore = (uri) => (uri === `${root}/data` ? data : openStore(uri));
    const runOnce = async (runId: string) => {
      const plan = await planRun(setup.deps, setup.runMessage(runId, { shardSize: 4, cuts: ['final'] }));
      const extracts = JSON.parse(await readFile(plan.manifest.key, 'utf8')) as ExtractMessage[];
      const before = data.reads;
      await forEachConcurrent(extracts, 4, (m) => handleWork(setup.deps, m).then(() => undefined));
      const reads = data.reads - before;
      await trainRun(setup.deps, plan.train);
      const workspace = new FsBlobStore(path.join(root, 'runs', runId));
      const signatures = await workspace.getJson<{ signatures: Record<string, string> }>(IMAGE_SIGNATURES_KEY);
      return { reads, signatures: signatures!.signatures, head: (await workspace.getJson<HeadArtefact>('head.json'))! };
    };
    const first = await runOnce('first');
    assert.equal(first.reads, 13, 'every object read once');
    const second = await runOnce('second');
    assert.equal(second.reads, 0, 'nothing read again');
    assert.equal(Object.keys(second.signatures).length, 12);
    assert.deepEqual(second.signatures, first.signatures);
    assert.equal(second.head.quality?.confirmedByImage, true);
    assert.equal(second.head.cacheKey, first.head.cacheKey);
  }));

test('extractItems takes no signature unless asked (the local extract), and one per decodable image when asked', () =>
  withTempDir(async (root) => {
    const data = await writeImages(path.join(root, 'data'));
    const setup = inProcessSetup(root);
    const model = await setup.deps.lookupModel('mobilenetv2-12-int8');
    const items = ['train/ants/0.png', 'train/bees/1.png', 'train/ants/9.jpg'].map((key) => ({
      key,
      split: 'train',
      label: key.includes('bees') ? 1 : 0,
    }));
    const deps = (cache: string) => ({
      data,
      features: new FeatureStore(new FsBlobStore(root), cache),
      model,
      openEmbedder: async (m: typeof model, cuts: string[]) => fakeEmbedder(m, cuts),
    });
    const plain = await extractItems(deps('a'), items, ['final']);
    assert.equal(plain.signatures, undefined);
    const asked = await extractItems(deps('b'), items, ['final'], { imageSignatures: true });
    assert.deepEqual(
      Object.keys(asked.signatures!).sort(),
      plain.entries
        .slice(0, 2)
        .map((e) => e.contentHash)
        .sort(),
    );
    for (const hex of Object.values(asked.signatures!)) assert.match(hex, /^[0-9a-f]{16}$/);
  }));
