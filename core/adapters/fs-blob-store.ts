import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { NotFoundError } from '../errors.js';
import type { BlobInfo, BlobStore } from '../ports/blob-store.js';
import type { ConditionalWrites, VersionedObject } from '../ports/conditional-writes.js';

/** BlobStore over a local folder. Writes go to a temp file in the same folder, then rename (atomic on POSIX). */
export class FsBlobStore implements BlobStore, ConditionalWrites {
  readonly root: string;
  readonly location: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.location = pathToFileURL(this.root).href;
  }

  pathOf(key: string): string {
    const full = path.resolve(this.root, key);
    if (full !== this.root && !full.startsWith(this.root + path.sep)) {
      throw new Error(`key escapes the store root: ${key}`);
    }
    return full;
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      return await fs.readFile(this.pathOf(key));
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(`${this.location}/${key}`, { cause: err });
      throw err;
    }
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.pathOf(key), 'utf8')) as T;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const target = this.pathOf(key);
    const tmp = await this.writeTemp(target, body);
    await fs.rename(tmp, target);
  }

  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    const target = this.pathOf(key);
    const tmp = await this.writeTemp(target, body);
    try {
      // link(2) fails with EEXIST if the target exists: an atomic create-if-absent that never exposes partial content.
      await fs.link(tmp, target);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  /** The version is the content's sha256 (S3's ETag is its MD5): equal bytes are the same state either way. */
  async getVersioned(key: string): Promise<VersionedObject | undefined> {
    try {
      const body = await fs.readFile(this.pathOf(key));
      return { body, version: versionOf(body) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Compare and swap under a lock directory (mkdir is atomic); a lock left by a killed process expires. */
  async putIfVersion(key: string, body: Uint8Array | string, expected: string | undefined): Promise<boolean> {
    const target = this.pathOf(key);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const lock = `${target}.lock`;
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.mkdir(lock);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const held = await fs.stat(lock).catch(() => undefined);
        if (held && Date.now() - held.mtimeMs > LOCK_EXPIRY_MS) await fs.rm(lock, { recursive: true, force: true });
        await new Promise((r) => setTimeout(r, Math.min(50, 1 + attempt)));
      }
    }
    try {
      const current = await this.getVersioned(key);
      if (current?.version !== expected) return false;
      await this.put(key, body);
      return true;
    } finally {
      await fs.rm(lock, { recursive: true, force: true });
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await fs.access(this.pathOf(key));
      return true;
    } catch {
      return false;
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    const base = this.pathOf(prefix.endsWith('/') || prefix === '' ? prefix : path.posix.dirname(prefix));
    const keys: BlobInfo[] = [];
    await walk(base, async (file, size) => {
      const key = path.relative(this.root, file).split(path.sep).join('/');
      if (key.startsWith(prefix) && !isTempName(key)) keys.push({ key, size });
    });
    keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* keys;
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.pathOf(key), { force: true });
  }

  private async writeTemp(target: string, body: Uint8Array | string): Promise<string> {
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    await fs.writeFile(tmp, body);
    return tmp;
  }
}

const LOCK_EXPIRY_MS = 10_000;

function versionOf(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

function isTempName(key: string): boolean {
  return /\.[0-9a-f]{12}\.tmp$/.test(key);
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

async function walk(dir: string, visit: (file: string, size: number) => Promise<void>): Promise<void> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
    throw err;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await walk(full, visit);
    else if (entry.isFile()) {
      // A concurrent writer's temp file can be renamed away between readdir and stat: it was never a key.
      const stat = await fs.stat(full).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
      if (stat) await visit(full, stat.size);
    }
  }
}
