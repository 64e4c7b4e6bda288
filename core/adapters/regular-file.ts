import { promises as fs } from 'node:fs';
import { DataError, errorMessage } from '../errors.js';

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
