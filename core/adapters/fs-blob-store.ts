import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { NotFoundError } from '../errors.js';
import type { BlobInfo, BlobStore } from '../ports/blob-store.js';

/** BlobStore over a local folder. Writes go to a temp file in the same folder, then rename (atomic on POSIX). */
export class FsBlobStore implements BlobStore {
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
    await walk(base, async (file, size, unreadable) => {
      const key = path.relative(this.root, file).split(path.sep).join('/');
      if (key.startsWith(prefix) && !isTempName(key)) keys.push({ key, size, ...(unreadable ? { unreadable } : {}) });
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

function isTempName(key: string): boolean {
  return /\.[0-9a-f]{12}\.tmp$/.test(key);
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

type Visit = (file: string, size: number, unreadable?: BlobInfo['unreadable']) => Promise<void>;

/**
 * Every file under `dir`, as torchvision's ImageFolder sees them: symlinks are followed (to files and to folders,
 * each real folder once), and what cannot be read is still visited, with the reason, so the caller can record it.
 */
async function walk(dir: string, visit: Visit, seen = new Set<string>()): Promise<void> {
  const real = await fs.realpath(dir).catch(() => dir);
  if (seen.has(real)) return;
  seen.add(real);
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
    throw err;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await walk(full, visit, seen);
      continue;
    }
    // stat follows a symlink; a dangling one fails with ENOENT (or ELOOP for a cycle of links).
    const stat = await fs.stat(full).catch((err: unknown) => err as NodeJS.ErrnoException);
    if (stat instanceof Error) {
      const code = stat.code;
      if (entry.isSymbolicLink() && (code === 'ENOENT' || code === 'ELOOP')) {
        const target = await fs.readlink(full).catch(() => '?');
        await visit(full, 0, { kind: 'dangling-symlink', message: `symbolic link to ${target}, which does not exist` });
      }
      // Otherwise a concurrent writer's temp file renamed away between readdir and stat: it was never a key.
      else if (!isNotFound(stat)) throw stat;
      continue;
    }
    if (stat.isDirectory()) await walk(full, visit, seen);
    else if (!stat.isFile()) await visit(full, 0, { kind: 'unreadable', message: 'not a regular file (a FIFO, socket or device): never read' });
    else {
      const denied = await fs.access(full, fsConstants.R_OK).then(() => undefined, (err: NodeJS.ErrnoException) => err.code ?? 'error');
      await visit(full, stat.size, denied ? { kind: 'unreadable', message: `cannot be read (${denied}): check its permissions` } : undefined);
    }
  }
}
