import { createHash, randomBytes } from 'node:crypto';
import {
  accessSync,
  constants as fsConstants,
  promises as fs,
  readdirSync,
  readlinkSync,
  realpathSync,
  statSync,
  type BigIntStats,
  type Dirent,
} from 'node:fs';
import { isUtf8 } from 'node:buffer';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DataError, NotFoundError, errorMessage } from '../errors.js';
import { readBoundedRegularFile } from './regular-file.js';
import type { BlobInfo, BlobStore, ListingOptions } from '../ports/blob-store.js';
import type { ConditionalWrites, VersionedObject } from '../ports/conditional-writes.js';

/** BlobStore over a local folder. Writes go to a temp file in the same folder, then rename (atomic on POSIX). */
export class FsBlobStore implements BlobStore, ConditionalWrites {
  readonly root: string;
  readonly location: string;

  private readonly followExternalSymlinks: boolean;

  /**
   * `followExternalSymlinks`: list what symbolic links leading out of the root point to. Off by default: a dataset
   * from elsewhere can hold a link to /etc/shadow or to `/`; such links are listed as rejects ('outside-root').
   */
  constructor(root: string, options: { followExternalSymlinks?: boolean } = {}) {
    this.root = path.resolve(root);
    this.location = pathToFileURL(this.root).href;
    this.followExternalSymlinks = options.followExternalSymlinks ?? false;
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
      // Never opens a FIFO for a blocking read, and never reads a sparse file of gigabytes whole (the listing already
      // made both rejects; this is for keys that did not come from a listing).
      return await readBoundedRegularFile(
        this.pathOf(key),
        MAX_GET_BYTES,
        (_kind, message) => new DataError(`${this.location}/${key}: ${message}`),
      );
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(`${this.location}/${key}`, { cause: err });
      throw err;
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    let file: fs.FileHandle | undefined;
    try {
      file = await fs.open(this.pathOf(key), 'r');
      const out = Buffer.alloc(end - start);
      const { bytesRead } = await file.read(out, 0, out.length, start);
      return out.subarray(0, bytesRead);
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(`${this.location}/${key}`, { cause: err });
      throw err;
    } finally {
      await file?.close();
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
      return { body, version: contentVersionOf(body) };
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

  async *list(prefix: string, options: ListingOptions = {}): AsyncIterable<BlobInfo> {
    const base = this.pathOf(prefix.endsWith('/') || prefix === '' ? prefix : path.posix.dirname(prefix));
    const keys: BlobInfo[] = [];
    const rootLength = this.root.length + 1;
    const walker = new Walker(this.root, options.checkReadable !== false, this.followExternalSymlinks);
    walker.walk(base, (file, stat, unreadable) => {
      // Under the root by construction: slicing is the relative path, without path.relative's cost per file.
      const key = path.sep === '/' ? file.slice(rootLength) : file.slice(rootLength).split(path.sep).join('/');
      if (!key.startsWith(prefix) || isTempName(key)) return;
      if (unreadable || !stat) keys.push({ key, size: 0, ...(unreadable ? { unreadable } : {}) });
      else keys.push({ key, ...versionOf(stat) });
    });
    keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* keys;
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.pathOf(key), { force: true });
  }

  async info(key: string): Promise<BlobInfo | undefined> {
    const stat = await fs
      .stat(this.pathOf(key), { bigint: true })
      .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
    return stat?.isFile() ? { key, ...versionOf(stat) } : undefined;
  }

  private async writeTemp(target: string, body: Uint8Array | string): Promise<string> {
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    await fs.writeFile(tmp, body);
    return tmp;
  }
}

const LOCK_EXPIRY_MS = 10_000;

/** Node reads at most 2 GiB into one Buffer; anything near it is not a blob this tool reads whole. */
const MAX_GET_BYTES = 2 ** 31 - 1;

function contentVersionOf(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

function isTempName(key: string): boolean {
  return /\.[0-9a-f]{12}\.tmp$/.test(key);
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** git's stat index: any write changes mtime or ctime (ns), a replaced file changes the inode. */
function versionOf(stat: BigIntStats): Omit<BlobInfo, 'key'> {
  return {
    size: Number(stat.size),
    version: `${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.ino}`,
    modifiedMs: Number(stat.mtimeMs),
  };
}

type Visit = (file: string, stat: BigIntStats | undefined, unreadable?: BlobInfo['unreadable']) => void;

/**
 * Every file under a folder, as torchvision's ImageFolder sees them: symlinks are followed (to files and to folders,
 * each real folder once) as long as they stay inside the store's root, and what cannot be read is still visited, with
 * the reason, so the caller can record it: a folder that cannot be listed (EACCES, ELOOP, EIO), a name that is not
 * valid UTF-8, a link out of the root (unless followed on request). Nothing here throws for one bad entry.
 * Synchronous on purpose: a listing is a foreground step, and statSync costs a quarter of the CPU of a promise per
 * file (5,000 files: 24 ms against 80-100 ms, measured), which is most of a re-run over unchanged data.
 */
class Walker {
  private readonly seen = new Set<string>();
  private realRoot: string | undefined;

  constructor(
    private readonly root: string,
    private readonly checkReadable: boolean,
    private readonly followExternal: boolean,
  ) {}

  walk(dir: string, visit: Visit): void {
    this.realRoot ??= realOrSelf(this.root);
    let real = dir;
    try {
      real = realpathSync(dir);
    } catch {
      // keep dir: readdir below reports what is wrong with it
    }
    if (this.seen.has(real)) return;
    this.seen.add(real);
    let entries: Dirent<Buffer>[];
    try {
      entries = readdirSync(dir, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (isNotFound(err) || code === 'ENOTDIR') return;
      if (dir === this.root) throw new DataError(`cannot list ${dir}: ${code ?? errorMessage(err)}`);
      visit(dir, undefined, { kind: 'unreadable', message: `folder cannot be listed (${code ?? 'error'})` });
      return;
    }
    for (const entry of entries) {
      if (!isUtf8(entry.name)) {
        const shown = entry.name.toString('utf8');
        visit(`${dir}${path.sep}${shown}`, undefined, {
          kind: 'unreadable',
          message: `file name is not valid UTF-8 (bytes ${entry.name.toString('hex').slice(0, 64)}): rename it to read it`,
        });
        continue;
      }
      this.entry(dir, entry, `${dir}${path.sep}${entry.name.toString('utf8')}`, visit);
    }
  }

  private entry(dir: string, entry: Dirent<Buffer>, full: string, visit: Visit): void {
    if (entry.isDirectory()) {
      this.walk(full, visit);
      return;
    }
    if (entry.isSymbolicLink() && !this.followExternal) {
      const target = realOrSelf(full);
      const inside = target === this.realRoot || target.startsWith(this.realRoot + path.sep);
      if (!inside && target !== full) {
        visit(full, undefined, {
          kind: 'outside-root',
          message: 'symbolic link that leads out of the dataset: not followed (--follow-symlinks follows it)',
        });
        return;
      }
    }
    // stat follows a symlink; a dangling one fails with ENOENT (or ELOOP for a cycle of links).
    let stat: BigIntStats | undefined;
    try {
      stat = statSync(full, { bigint: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (entry.isSymbolicLink() && (code === 'ENOENT' || code === 'ELOOP')) {
        let target = '?';
        try {
          target = readlinkSync(full);
        } catch {
          // the link vanished meanwhile: '?' is all we can say
        }
        visit(full, undefined, {
          kind: 'dangling-symlink',
          message: `symbolic link to ${target}, which does not exist`,
        });
      }
      // ENOENT otherwise: a concurrent writer's temp file renamed away between readdir and stat: it was never a key.
      else if (!isNotFound(err))
        visit(full, undefined, { kind: 'unreadable', message: `cannot be read (${code ?? 'error'})` });
      return;
    }
    if (stat.isDirectory()) this.walk(full, visit);
    else if (!stat.isFile())
      visit(full, undefined, {
        kind: 'unreadable',
        message: 'not a regular file (a FIFO, socket or device): never read',
      });
    else {
      let denied: string | undefined;
      try {
        if (this.checkReadable) accessSync(full, fsConstants.R_OK);
      } catch (err) {
        denied = (err as NodeJS.ErrnoException).code ?? 'error';
      }
      visit(
        full,
        stat,
        denied ? { kind: 'unreadable', message: `cannot be read (${denied}): check its permissions` } : undefined,
      );
    }
  }
}

function realOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
