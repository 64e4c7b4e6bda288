import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { updateJson } from '../../../core/util/update-json.js';
import { withTempDir } from '../../helpers/paths.js';

test('folder store compare-and-swap: stale versions lose; 30 concurrent read-modify-writes, each twice, count 30 once', () =>
  withTempDir(async (root) => {
    const store = new FsBlobStore(root);
    assert.equal(await store.putIfVersion('c.json', 'a', undefined), true);
    assert.equal(await store.putIfVersion('c.json', 'b', undefined), false);
    const v = (await store.getVersioned('c.json'))!.version;
    assert.equal(await store.putIfVersion('c.json', 'b', v), true);
    assert.equal(await store.putIfVersion('c.json', 'c', v), false);
    const marks = [...Array(30).keys(), ...Array(30).keys()].sort(() => Math.random() - 0.5);
    // Each member adds itself to a set once: a write that lost a race re-reads and finds itself there or not.
    const readings = await Promise.all(
      marks.map(async (m) => {
        let marked = false;
        const { value } = await updateJson<number[]>(store, 'join/groups.json', (current = []) => {
          marked = !current.includes(m);
          return marked ? [...current, m] : undefined;
        });
        return { marked, complete: marked && value!.length === 30 };
      }),
    );
    assert.equal(readings.filter((r) => r.marked).length, 30);
    assert.equal(readings.filter((r) => r.complete).length, 1);
    const keys: string[] = [];
    for await (const b of store.list('join/')) keys.push(b.key);
    assert.deepEqual(keys, ['join/groups.json'], 'no lock or temp file left behind');
  }));
