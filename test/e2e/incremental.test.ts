import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { extract } from '../../core/use-cases/extract.js';
import { copyHymenopteraSubset, localPipeline } from '../helpers/local-pipeline.js';
import { withTempDir } from '../helpers/paths.js';

test('extraction is incremental: unchanged → 0 inferences, +10 images → 10, one changed → 1; bad files are recorded, never fatal', () =>
  withTempDir(async (root) => {
    const data = path.join(root, 'data');
    const work = path.join(root, 'work');
    await copyHymenopteraSubset(data, 3); // 12 images
    const { deps, counter } = await localPipeline(data, work);
    const shardRows = { shardRows: 5 };

    const first = await extract(deps, { cuts: ['block17', 'final'], ...shardRows });
    assert.equal(first.summary.embedded, 12);
    assert.equal(counter.embedded, 12);
    assert.equal(first.manifest.entries.length, 12);

    const openedBefore = counter.opened;
    const second = await extract(deps, { cuts: ['block17', 'final'], ...shardRows });
    assert.equal(second.summary.embedded, 0);
    assert.equal(second.summary.cached, 12);
    assert.equal(counter.opened, openedBefore, 'a fully cached run never loads the model');
    assert.deepEqual(second.manifest.entries, first.manifest.entries);

    await copyHymenopteraSubset(data, 3, 3); // 12 more
    const added = await readdir(path.join(data, 'train', 'ants'));
    assert.equal(added.length, 6);
    counter.embedded = 0;
    const third = await extract(deps, { cuts: ['block17', 'final'], ...shardRows });
    assert.equal(third.summary.embedded, 12);
    assert.equal(counter.embedded, 12);

    // Change one image's content (flip it): exactly that one is re-embedded.
    const victim = path.join(data, 'val', 'bees', (await readdir(path.join(data, 'val', 'bees'))).sort()[0]!);
    await writeFile(
      victim,
      await sharp(await readFile(victim))
        .flop()
        .jpeg()
        .toBuffer(),
    );
    counter.embedded = 0;
    const fourth = await extract(deps, { cuts: ['block17', 'final'], ...shardRows });
    assert.equal(fourth.summary.embedded, 1);

    // A truncated JPEG and a text file posing as an image: recorded with reasons, the rest untouched.
    const good = await readFile(victim);
    await writeFile(path.join(data, 'train', 'ants', 'truncated.jpg'), good.subarray(0, good.length >> 1));
    await writeFile(path.join(data, 'train', 'bees', 'garbage.jpg'), 'definitely not an image');
    counter.embedded = 0;
    const fifth = await extract(deps, { cuts: ['block17', 'final'], ...shardRows });
    assert.equal(fifth.summary.rejected, 2);
    assert.equal(fifth.manifest.entries.length, 24);
    const reasons = Object.fromEntries(fifth.manifest.rejects.map((r) => [path.basename(r.key), r.kind]));
    assert.deepEqual(reasons, { 'truncated.jpg': 'truncated', 'garbage.jpg': 'unsupported-format' });
    const rejectsFile = JSON.parse(await readFile(path.join(work, 'rejects.json'), 'utf8')) as Array<{
      key: string;
      message: string;
    }>;
    assert.equal(rejectsFile.length, 2);
    assert.ok(rejectsFile.every((r) => r.message.length > 10));

    counter.embedded = 0;
    const sixth = await extract(deps, { cuts: ['block17', 'final'], ...shardRows });
    assert.equal(sixth.summary.embedded, 0, 'known-bad files are remembered too, not re-decoded');
    assert.equal(sixth.summary.rejected, 2);
  }));
