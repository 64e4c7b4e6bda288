import { DataError } from '../errors.js';
import { MANIFEST_KEY, type Manifest, type ManifestEntry, type RejectRecord } from '../features/manifest.js';
import { boolean, integer, oneOf } from '../messages/validate.js';
import type { BlobStore } from '../ports/blob-store.js';
import { anyString, fields, list, mapOf, readArtefact } from './check.js';

/**
 * manifest.json: every image of one extraction, where its codes are or why it was rejected. Kept a module of its own
 * (key and type stay with the feature cache in core/features/manifest.ts) so that moving the entries into the code-cache
 * index changes this reader and nothing that calls it.
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

const checkManifest = fields<Manifest>({
  version: oneOf(MANIFEST_VERSION),
  dataset: anyString,
  model: fields({ name: anyString, sha256: anyString }),
  classes: list(anyString),
  splitSynthesized: boolean(),
  namespaces: checkNamespaces,
  entries: checkEntries,
  rejects: checkRejects,
  ignored: list(fields({ key: anyString, reason: anyString })),
});

/** The workspace's manifest.json, checked, or a DataError that says which command writes it. */
export async function readManifest(workspace: BlobStore): Promise<Manifest> {
  const manifest = await readArtefact(workspace, MANIFEST_KEY, MANIFEST_VERSION, checkManifest);
  if (!manifest) throw new DataError(`no ${MANIFEST_KEY} in ${workspace.location}: run "cnn-codes extract" first`);
  return manifest;
}
