import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { NotFoundError } from '../../../core/errors.js';
import type { BlobInfo, BlobStore } from '../../../core/ports/blob-store.js';
import { hasConditionalWrites } from '../../../core/ports/conditional-writes.js';
import { recordListing } from '../../../core/dataset/source-identity.js';
import { tolerateMissing } from '../../../core/dataset/tolerate-missing.js';
import { decorate } from '../../../core/util/decorate.js';
import { withNoticeTopUp } from '../../../functions/shared/workers.js';
import { InProcessQueue } from '../../helpers/in-process-queue.js';
import { withTempDir } from '../../helpers/paths.js';

/** The store decorators under test, each with what it adds. */
const DECORATORS: Record<string, (store: BlobStore) => BlobStore> = {
  decorate: (store) => decorate(store, {}),
  tolerateMissing: (store) => tolerateMissing(store).data,
  recordListing: (store) => recordListing(store).store,
};

/** A store with only the required methods: the optional capabilities must stay absent through a decorator. */
function bareStore(files: Map<string, Uint8Array>): BlobStore {
  return {
    location: 'mem://bare',
    get: async (key) => {
      const body = files.get(key);
      if (!body) throw new NotFoundError(`mem://bare/${key}`);
      return body;
    },
    getJson: async (key) => {
      const body = files.get(key);
      return body ? JSON.parse(Buffer.from(body).toString('utf8')) : undefined;
    },
    put: async (key, body) => void files.set(key, typeof body === 'string' ? Buffer.from(body) : body),
    putIfAbsent: async (key, body) => {
      if (files.has(key)) return false;
      files.set(key, typeof body === 'string' ? Buffer.from(body) : body);
      return true;
    },
    exists: async (key) => files.has(key),
    list: async function* (prefix) {
      for (const [key, body] of [...files].sort(([a], [b]) => (a < b ? -1 : 1)))
        if (key.startsWith(prefix)) yield { key, size: body.byteLength };
    },
    delete: async (key) => void files.delete(key),
  };
}

for (const [name, wrap] of Object.entries(DECORATORS)) {
  test(`${name} keeps a folder store's ranged reads, info and conditional writes, each reaching the store`, () =>
    withTempDir(async (dir) => {
      const inner = new FsBlobStore(dir);
      await inner.put('a/b.bin', 'abcdef');
      const store = wrap(inner);
      assert.equal(store.location, inner.location);
      assert.ok(store.getRange, 'getRange kept');
      assert.equal(Buffer.from(await store.getRange('a/b.bin', 1, 4)).toString(), 'bcd');
      assert.ok(store.info, 'info kept');
      const info = await store.info('a/b.bin');
      assert.equal(info?.size, 6);
      assert.equal(info.version, (await inner.info('a/b.bin'))?.version);
      assert.equal(await store.info('a/none.bin'), undefined);
      assert.ok(hasConditionalWrites(store), 'conditional writes kept');
      const versioned = await store.getVersioned('a/b.bin');
      assert.equal(await store.putIfVersion('a/b.bin', 'x', 'not-its-version'), false);
      assert.equal(await store.putIfVersion('a/b.bin', 'ghijkl', versioned?.version), true);
      assert.equal(Buffer.from(await inner.get('a/b.bin')).toString(), 'ghijkl');
      assert.equal(await store.putIfVersion('a/new.bin', 'n', undefined), true);
      assert.equal(await inner.exists('a/new.bin'), true);
    }));

  test(`${name} adds no capability the store lacks, and forwards the required ones`, async () => {
    const files = new Map<string, Uint8Array>();
    const store = wrap(bareStore(files));
    assert.equal(store.getRange, undefined);
    assert.equal(store.info, undefined);
    assert.equal(hasConditionalWrites(store), false);
    await store.put('k/1.json', '{"n":1}');
    assert.equal(await store.putIfAbsent('k/1.json', '{}'), false);
    assert.deepEqual(await store.getJson('k/1.json'), { n: 1 });
    assert.equal(await store.exists('k/1.json'), true);
    const listed: string[] = [];
    for await (const blob of store.list('k/')) listed.push(blob.key);
    assert.deepEqual(listed, ['k/1.json']);
    await store.delete('k/1.json');
    assert.equal(files.size, 0);
  });
}

test('tolerateMissing still reads a missing key as empty and records it; recordListing records with the options', () =>
  withTempDir(async (dir) => {
    await writeFile(path.join(dir, 'there.jpg'), 'x');
    const { data, missing } = tolerateMissing(new FsBlobStore(dir));
    assert.equal((await data.get('gone.jpg')).byteLength, 0);
    assert.deepEqual([...missing], ['gone.jpg']);
    const options: Array<unknown> = [];
    const inner = new FsBlobStore(dir);
    const spying = decorate(inner, {
      list: (prefix, listing) => {
        options.push(listing);
        return inner.list(prefix, listing);
      },
    });
    const { store, listed } = recordListing(spying);
    const seen: BlobInfo[] = [];
    for await (const blob of store.list('', { checkReadable: false })) seen.push(blob);
    assert.deepEqual(options, [{ checkReadable: false }], 'the listing options reach the store');
    assert.deepEqual([...listed.keys()], ['there.jpg']);
  }));

test('withNoticeTopUp keeps every method of the queue, its fields and a capability beyond WorkQueue', async () => {
  const queue = new InProcessQueue<unknown>('extract');
  const calls: string[] = [];
  const extended = Object.assign(Object.create(queue) as InProcessQueue<unknown>, {
    purge: () => calls.push('purge'),
  });
  const wrapped = withNoticeTopUp(extended, 1) as InProcessQueue<unknown> & { purge(): void };
  assert.equal(wrapped.name, 'extract');
  await wrapped.send({ v: 1, type: 'extract' });
  assert.equal(wrapped.size, 1, 'a getter of the queue reads through');
  const [message] = await wrapped.receive({ max: 1 });
  await wrapped.extendVisibility(message!, 30);
  await wrapped.extendVisibilityAll([message!], 30);
  await wrapped.release(message!, 0);
  const [again] = await wrapped.receive({ max: 1 });
  await wrapped.deadLetter(again!, 'test');
  assert.equal(queue.peek().length, 0);
  await wrapped.send({ v: 1, type: 'extract' });
  await wrapped.send({ v: 1, type: 'extract' });
  const [first, second] = await wrapped.receive({ max: 2 });
  await wrapped.ack(first!);
  await wrapped.ackAll([second!]);
  assert.equal(queue.size, 0);
  wrapped.purge();
  assert.deepEqual(calls, ['purge']);
});
