import { InvalidMessageError } from './schema.js';

/** An S3 event notification as S3 delivers it to SQS (incremental mode): which new objects to extract. */
export type S3Notice = { kind: 'test-event' } | { kind: 'objects'; objects: S3ObjectRef[] };

export interface S3ObjectRef {
  bucket: string;
  key: string;
  size: number;
  /** The object's ETag as the notice gives it (S3 sends it unquoted), where present. */
  etag?: string;
}

export function looksLikeS3Notification(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as { Records?: unknown; Event?: unknown; Service?: unknown };
  return (
    (Array.isArray(b.Records) && b.Records.some((r) => (r as { eventSource?: unknown })?.eventSource === 'aws:s3')) ||
    (b.Service === 'Amazon S3' && b.Event === 's3:TestEvent')
  );
}

/**
 * Only ObjectCreated records count; removals and others are acknowledged and ignored (the cache is append-only).
 * Keys arrive URL-encoded with '+' for spaces, as S3 sends them.
 */
export function parseS3Notification(body: unknown): S3Notice {
  const b = body as { Records?: unknown[]; Event?: unknown };
  if (b.Event === 's3:TestEvent') return { kind: 'test-event' };
  const objects: S3ObjectRef[] = [];
  const problems: string[] = [];
  (b.Records ?? []).forEach((record, i) => {
    const r = record as {
      eventSource?: unknown;
      eventName?: unknown;
      s3?: { bucket?: { name?: unknown }; object?: { key?: unknown; size?: unknown; eTag?: unknown } };
    };
    if (r.eventSource !== 'aws:s3' || typeof r.eventName !== 'string' || !r.eventName.startsWith('ObjectCreated:'))
      return;
    const bucket = r.s3?.bucket?.name;
    const key = r.s3?.object?.key;
    if (typeof bucket !== 'string' || typeof key !== 'string') {
      problems.push(`Records[${i}].s3: expected bucket.name and object.key strings`);
      return;
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(key.replace(/\+/g, ' '));
    } catch {
      problems.push(`Records[${i}].s3.object.key: not URL-encoded: ${JSON.stringify(key)}`);
      return;
    }
    const etag = r.s3?.object?.eTag;
    objects.push({
      bucket,
      key: decoded,
      size: typeof r.s3?.object?.size === 'number' ? r.s3.object.size : -1,
      ...(typeof etag === 'string' && etag ? { etag } : {}),
    });
  });
  if (problems.length > 0) throw new InvalidMessageError(problems);
  return { kind: 'objects', objects };
}
