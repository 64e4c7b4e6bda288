import * as v from 'valibot';
import { InvalidArtefactError } from './artefact-error.js';
import { bool, count, fields, integer, list, mapOf, oneOf, parseArtefact, text } from './schema.js';

/**
 * manifest.json's checks: format 1 holds every image's entry inline (object-store workspaces, and local ones written
 * before the workspace index held the entries); format 2 is the summary of a local workspace whose entries live in
 * index.sqlite (core/workspace/manifest-store.ts reads both through `parseManifestDocument`).
 */
export const MANIFEST_VERSION = 1;

/** Checks of the manifest's parts, shared with the serverless run's shard parts and group summaries. */
export const NamespacesSchema = mapOf(fields({ id: text, dim: integer(1, Number.MAX_SAFE_INTEGER) }));

/** An image whose codes were saved: where they are, per cut point. */
export const ManifestEntrySchema = fields({
  key: text,
  split: text,
  label: count,
  contentHash: text,
  codes: mapOf(fields({ shard: text, row: count })),
});
export type ManifestEntry = v.InferOutput<typeof ManifestEntrySchema>;

/** An image without codes, and why (`kind`: the embedder's or the listing's reason, `message` its words). */
export const RejectRecordSchema = fields({
  key: text,
  split: text,
  label: count,
  contentHash: text,
  kind: text,
  message: text,
});
export type RejectRecord = v.InferOutput<typeof RejectRecordSchema>;

export const EntriesSchema = list(ManifestEntrySchema);
/** Content hash → image signature (core/quality/image-signature.ts), in a shard part or group summary; optional. */
export const SignaturesSchema = v.optional(mapOf(v.pipe(text, v.regex(/^[0-9a-f]{16}$/, 'expected 16 hex digits'))));
export const RejectsSchema = list(RejectRecordSchema);

const common = {
  dataset: text,
  model: fields({ name: text, sha256: text }),
  classes: list(text),
  splitSynthesized: bool,
  /** Cut point → feature-store namespace id. */
  namespaces: NamespacesSchema,
  rejects: RejectsSchema,
  ignored: list(fields({ key: text, reason: text })),
};

/** manifest.json, format 1: every image's entry inline. */
export const ManifestSchema = fields({ version: oneOf(MANIFEST_VERSION), ...common, entries: EntriesSchema });
export type Manifest = v.InferOutput<typeof ManifestSchema>;

export const MANIFEST_SUMMARY_VERSION = 2;

/** manifest.json with the entries held by the workspace index (format 2); format 1 held them inline. */
export const ManifestSummarySchema = fields({
  version: oneOf(MANIFEST_SUMMARY_VERSION),
  ...common,
  entries: fields({ in: oneOf('index.sqlite'), count, digest: text }),
});
export type ManifestSummary = v.InferOutput<typeof ManifestSummarySchema>;

/** A parsed manifest.json, checked field by field, or an InvalidArtefactError naming the file and what is wrong. */
export function parseManifestDocument(raw: unknown, location: string, key: string): Manifest | ManifestSummary {
  const version = (raw as { version?: unknown } | null)?.version;
  if (version === MANIFEST_VERSION) return parseArtefact(raw, location, key, MANIFEST_VERSION, ManifestSchema);
  if (version === MANIFEST_SUMMARY_VERSION)
    return parseArtefact(raw, location, key, MANIFEST_SUMMARY_VERSION, ManifestSummarySchema);
  throw new InvalidArtefactError(location, key, [
    `format ${JSON.stringify(version)}: this cnn-codes reads formats ${MANIFEST_VERSION} and ${MANIFEST_SUMMARY_VERSION}; use the version that wrote it, or extract into a new --out`,
  ]);
}
