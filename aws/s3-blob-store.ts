import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { NotFoundError } from '../core/errors.js';
import type { BlobInfo, BlobStore } from '../core/ports/blob-store.js';
import type { ConditionalWrites, VersionedObject } from '../core/ports/conditional-writes.js';

export interface S3BlobStoreOptions {
  /** Bodies at least this large go up as a multipart upload (parallel parts, retried per part). */
  multipartThreshold?: number;
  partSize?: number;
  /** Keys per LIST page (S3's maximum is 1000; smaller values exercise pagination in tests). */
  pageSize?: number;
}

const MiB = 1024 * 1024;

/**
 * BlobStore over an S3 prefix. Atomic by construction: S3 makes an object visible only when its upload completes.
 * putIfAbsent is a conditional PUT (If-None-Match: *), which S3 arbitrates: of concurrent writers exactly one wins.
 */
export class S3BlobStore implements BlobStore, ConditionalWrites {
  readonly location: string;
  private readonly base: string;
  private readonly options: Required<S3BlobStoreOptions>;

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    prefix = '',
    options: S3BlobStoreOptions = {},
  ) {
    const trimmed = prefix.replace(/^\/+|\/+$/g, '');
    this.base = trimmed ? `${trimmed}/` : '';
    this.location = `s3://${bucket}${trimmed ? `/${trimmed}` : ''}`;
    this.options = { multipartThreshold: 16 * MiB, partSize: 8 * MiB, pageSize: 1000, ...options };
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.base + key }));
      return await readBody(response.Body as Readable, response.ContentLength);
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError(`${this.location}/${key}`, { cause: err });
      throw err;
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.base + key, Range: `bytes=${start}-${end - 1}` }),
      );
      return await readBody(response.Body as Readable, response.ContentLength);
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError(`${this.location}/${key}`, { cause: err });
      throw err;
    }
  }

  async getVersioned(key: string): Promise<VersionedObject | undefined> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.base + key }));
      const body = await readBody(response.Body as Readable, response.ContentLength);
      return { body, version: response.ETag ?? '' };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async putIfVersion(key: string, body: Uint8Array | string, expected: string | undefined): Promise<boolean> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const condition = expected === undefined ? { IfNoneMatch: '*' } : { IfMatch: expected };
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.base + key,
          Body: bytes,
          ContentType: contentType(key),
          ...condition,
        }),
      );
      return true;
    } catch (err) {
      const status = statusOf(err);
      // 412: another writer changed it; 409: a concurrent conditional write is in flight; 404: If-Match on a key
      // that is gone. Each means "read again".
      if (status === 412 || status === 409 || (expected !== undefined && isMissing(err))) return false;
      throw err;
    }
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    try {
      return JSON.parse(new TextDecoder().decode(await this.get(key))) as T;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const params = { Bucket: this.bucket, Key: this.base + key, Body: bytes, ContentType: contentType(key) };
    if (bytes.byteLength < this.options.multipartThreshold) {
      await this.client.send(new PutObjectCommand(params));
      return;
    }
    await new Upload({
      client: this.client,
      params,
      partSize: this.options.partSize,
      queueSize: 4,
      leavePartsOnError: false,
    }).done();
  }

  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.base + key,
            Body: bytes,
            ContentType: contentType(key),
            IfNoneMatch: '*',
          }),
        );
        return true;
      } catch (err) {
        const status = statusOf(err);
        if (status === 412) return false;
        // 409 ConditionalRequestConflict: a concurrent conditional write to this key is in flight; ask again.
        if (status === 409 && attempt < 5) {
          await new Promise((r) => setTimeout(r, 50 * attempt));
          continue;
        }
        throw err;
      }
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.base + key }));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    let ContinuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.base + prefix,
          MaxKeys: this.options.pageSize,
          ContinuationToken,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined)
          yield {
            key: object.Key.slice(this.base.length),
            size: object.Size ?? 0,
            ...(object.ETag ? { etag: object.ETag } : {}),
          };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.base + key }));
  }
}

/** Streams the body into one buffer sized by Content-Length (no chunk list, no second copy); always consumes it. */
async function readBody(body: Readable | undefined, length: number | undefined): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  if (length === undefined) {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  const out = new Uint8Array(length);
  let offset = 0;
  try {
    for await (const chunk of body) {
      const bytes = chunk as Uint8Array;
      if (offset + bytes.byteLength > length) throw new Error(`S3 body longer than its Content-Length ${length}`);
      out.set(bytes, offset);
      offset += bytes.byteLength;
    }
  } catch (err) {
    body.destroy();
    throw err;
  }
  if (offset !== length) throw new Error(`S3 body ended after ${offset} of ${length} bytes`);
  return out;
}

function statusOf(err: unknown): number | undefined {
  return err instanceof S3ServiceException
    ? err.$metadata.httpStatusCode
    : (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isMissing(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(err) === 404;
}

function contentType(key: string): string {
  if (key.endsWith('.json')) return 'application/json';
  if (key.endsWith('.md')) return 'text/markdown; charset=utf-8';
  return 'application/octet-stream';
}
