import { type Manifest, type ManifestEntry, type RejectRecord } from '../features/manifest.js';
import { boolean, integer, oneOf } from '../messages/validate.js';
import { InvalidArtefactError } from './artefact-error.js';
import { anyString, fields, list, mapOf, parseArtefact } from './check.js';

/**
 * manifest.json's checks: format 1 holds every image's entry inline (object-store workspaces, and local ones written
 * before the workspace index held the entries); format 2 is the summary of a local workspace whose entries live in
 * index.sqlite (core/workspace/manifest-store.ts reads both through `parseManifestDocument`).
 */
export const MANIFEST_VERSION = 1;

const label = integer(0, Number.MAX_SAFE_INTEGER);

/** Checks of the manifest's parts, shared with the serverless run's shard parts and group summaries. */
export const checkNamespaces = mapOf(fields({ id: anyString, dim: integer(1, Number.MAX_SAFE_INTEGER) }));
export const checkEntries = list(
  fields<ManifestEntry>({
    key: anyString,
    split: anyString,
    label,
    contentHash: anyString,
    codes: mapOf(fields({ shard: anyString, row: integer(0, Number.MAX_SAFE_INTEGER) })),
  }),
);
export const checkRejects = list(
  fields<RejectRecord>({
    key: anyString,
    split: anyString,
    label,
    contentHash: anyString,
    kind: anyString,
    message: anyString,
  }),
);

const common = {
  dataset: anyString,
  model: fields({ name: anyString, sha256: anyString }),
  classes: list(anyString),
  splitSynthesized: boolean(),
  namespaces: checkNamespaces,
  rejects: checkRejects,
  ignored: list(fields({ key: anyString, reason: anyString })),
};
const checkManifest = fields<Manifest>({ version: oneOf(MANIFEST_VERSION), ...common, entries: checkEntries });
export const MANIFEST_SUMMARY_VERSION = 2;
/** manifest.json with the entries held by the workspace index (format 2); format 1 held them inline. */
export interface ManifestSummary extends Omit<Manifest, 'version' | 'entries'> {
  version: typeof MANIFEST_SUMMARY_VERSION;
  entries: { in: 'index.sqlite'; count: number; digest: string };
}
const checkSummary = fields<ManifestSummary>({
  version: oneOf(MANIFEST_SUMMARY_VERSION),
  ...common,
  entries: fields({ in: oneOf('index.sqlite'), count: integer(0, Number.MAX_SAFE_INTEGER), digest: anyString }),
});

/** A parsed manifest.json, checked field by field, or an InvalidArtefactError naming the file and what is wrong. */
export function parseManifestDocument(raw: unknown, location: string, key: string): Manifest | ManifestSummary {
  const version = (raw as { version?: unknown } | null)?.version;
  if (version === MANIFEST_VERSION) return parseArtefact(raw, location, key, MANIFEST_VERSION, checkManifest);
  if (version === MANIFEST_SUMMARY_VERSION)
    return parseArtefact(raw, location, key, MANIFEST_SUMMARY_VERSION, checkSummary);
  throw new InvalidArtefactError(location, key, [
    `format ${JSON.stringify(version)}: this cnn-codes reads formats ${MANIFEST_VERSION} and ${MANIFEST_SUMMARY_VERSION}; use the version that wrote it, or extract into a new --out`,
  ]);
}
