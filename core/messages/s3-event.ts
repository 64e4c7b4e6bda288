import * as v from 'valibot';
import { expected, problemsOf, text } from '../workspace/schema.js';
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

// S3 adds fields over time, so the notice's objects are loose: only what is read here is checked.
const TestEvent = v.looseObject({ Service: v.literal('Amazon S3'), Event: v.literal('s3:TestEvent') });
const FromS3 = v.looseObject({ eventSource: v.literal('aws:s3') });
/** Only ObjectCreated records count; removals and others are acknowledged and ignored (the cache is append-only). */
const Created = v.looseObject({
  eventSource: v.literal('aws:s3'),
  eventName: v.pipe(text, v.startsWith('ObjectCreated:')),
});
const CreatedObject = v.looseObject({
  s3: v.looseObject({
    bucket: v.looseObject({ name: text }),
    object: v.looseObject({
      // Keys arrive URL-encoded with '+' for spaces, as S3 sends them.
      key: v.pipe(
        text,
        v.rawTransform(({ dataset, addIssue, NEVER }) => {
          try {
            return decodeURIComponent(dataset.value.replace(/\+/g, ' '));
          } catch {
            addIssue({ message: `not URL-encoded: ${JSON.stringify(dataset.value)}` });
            return NEVER;
          }
        }),
      ),
      // As before: a size or ETag that is absent or not as S3 sends it is read as unknown, not refused.
      size: v.fallback(v.number(), -1),
      eTag: v.fallback(v.string(), ''),
    }),
  }),
});
const Notification = v.looseObject({ Records: v.optional(v.array(v.unknown(), expected('a list'))) });

export function looksLikeS3Notification(body: unknown): boolean {
  if (v.is(TestEvent, body)) return true;
  const records = v.is(Notification, body) ? (body.Records ?? []) : [];
  return records.some((record) => v.is(FromS3, record));
}

export function parseS3Notification(body: unknown): S3Notice {
  if (v.is(TestEvent, body)) return { kind: 'test-event' };
  const notice = v.safeParse(Notification, body);
  if (!notice.success) throw new InvalidMessageError(problemsOf(notice.issues, 'notice'));
  const objects: S3ObjectRef[] = [];
  const problems: string[] = [];
  (notice.output.Records ?? []).forEach((record, i) => {
    if (!v.is(Created, record)) return;
    const parsed = v.safeParse(CreatedObject, record);
    if (!parsed.success) return void problems.push(...problemsOf(parsed.issues, `Records[${i}]`));
    const { bucket, object } = parsed.output.s3;
    objects.push({
      bucket: bucket.name,
      key: object.key,
      size: object.size,
      ...(object.eTag ? { etag: object.eTag } : {}),
    });
  });
  if (problems.length > 0) throw new InvalidMessageError(problems);
  return { kind: 'objects', objects };
}
