import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ChecksumError, ModelError, errorMessage } from '../errors.js';

export interface DownloadProgress {
  url: string;
  receivedBytes: number;
  totalBytes?: number;
}

/**
 * Streams `url` to `target`, hashing on the way, and only renames the temp file into place when the sha256 matches:
 * a failed or tampered download never leaves a file that a later run would trust.
 */
export async function downloadVerified(
  url: string,
  target: string,
  expectedSha256: string,
  onProgress?: (p: DownloadProgress) => void,
): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.${randomBytes(6).toString('hex')}.part`;
  const hash = createHash('sha256');
  try {
    let response: Response;
    try {
      response = await fetch(url, { redirect: 'follow' });
    } catch (err) {
      throw new ModelError(`download of ${url} failed: ${errorMessage(err)}`, { cause: err });
    }
    if (!response.ok || !response.body) throw new ModelError(`download of ${url} failed: HTTP ${response.status}`);
    const total = Number(response.headers.get('content-length')) || undefined;
    const out = createWriteStream(tmp);
    let received = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      received += chunk.byteLength;
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      onProgress?.({ url, receivedBytes: received, ...(total ? { totalBytes: total } : {}) });
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const actual = hash.digest('hex');
    if (actual !== expectedSha256) throw new ChecksumError(url, expectedSha256, actual);
    await fs.rename(tmp, target);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
