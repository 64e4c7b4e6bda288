import { constants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { DataError, InvalidImageError, errorMessage } from '../errors.js';
import { MAX_IMAGE_BYTES } from '../image/invalid-image.js';

/**
 * A file named on the command line or in a descriptor (labels, head.json, a model descriptor), read after checking it
 * is a regular file of at most `limit` bytes: opening a FIFO blocks until a writer comes, a device never ends, and a
 * sparse file of gigabytes would be read whole. Errors name the file and the reason, never its contents.
 */
export async function readRegularFile(file: string, limit: number, what: string): Promise<Buffer> {
  const stat = await fs.stat(file).catch((err: unknown) => {
    throw new DataError(`cannot read ${what} ${file}: ${errorMessage(err)}`, { cause: err });
  });
  if (!stat.isFile()) throw new DataError(`${what} ${file} is not a regular file (a folder, FIFO, socket or device)`);
  if (stat.size > limit) throw new DataError(`${what} ${file} is ${stat.size} bytes, over the ${limit}-byte limit`);
  return fs.readFile(file).catch((err: unknown) => {
    throw new DataError(`cannot read ${what} ${file}: ${errorMessage(err)}`, { cause: err });
  });
}

/**
 * A JSON file read as `readRegularFile` reads it. V8's SyntaxError quotes the text around the fault ("Unexpected token
 * 'r', "root:x:0:0:"... is not valid JSON"), so a descriptor that is a symlink to /etc/passwd would print its first
 * line: the error here says only where parsing stopped.
 */
export async function readJsonFile(file: string, limit: number, what: string): Promise<unknown> {
  const text = (await readRegularFile(file, limit, what)).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const at = /position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
    throw new DataError(`${what} ${file} is not valid JSON${at ? ` (at byte ${at})` : ''}`);
  }
}

/**
 * An image named on the command line (`predict FILE`): opened without blocking (a FIFO would wait for a writer) and
 * checked as a regular file of at most MAX_IMAGE_BYTES before a byte is read. Failures are InvalidImageErrors, so the
 * image gets a reject of a named kind and the others are still classified.
 */
export async function readImageFile(file: string): Promise<Uint8Array> {
  return readBoundedRegularFile(file, MAX_IMAGE_BYTES, (kind, message) => new InvalidImageError(kind, message));
}

/**
 * Opens with O_NONBLOCK and checks the open descriptor (no window between a check and the open): not a regular file, or
 * over `limit` bytes, is `fail`'s error; otherwise the whole file.
 */
export async function readBoundedRegularFile(
  file: string,
  limit: number,
  fail: (kind: 'unreadable' | 'too-large', message: string) => Error,
): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw err;
    throw fail('unreadable', `cannot be read (${code ?? errorMessage(err)})`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw fail('unreadable', 'not a regular file (a folder, FIFO, socket or device): never read');
    if (stat.size > limit) throw fail('too-large', `${stat.size} bytes, over the ${limit}-byte limit for one file`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
