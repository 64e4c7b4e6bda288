import { DataError } from '../errors.js';
import { MANIFEST_KEY, type Manifest } from '../features/manifest.js';
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

const checkManifest = fields<Manifest>({
  version: oneOf(MANIFEST_VERSION),
  dataset: anyString,
  model: fields({ name: anyString, sha256: anyString }),
  classes: list(anyString),
  splitSynthesized: boolean(),
  namespaces: mapOf(fields({ id: anyString, dim: integer(1, Number.MAX_SAFE_INTEGER) })),
  entries: list(
    fields({
      key: anyString,
      split: anyString,
      label,
      contentHash: anyString,
      codes: mapOf(fields({ shard: anyString, row: integer(0, Number.MAX_SAFE_INTEGER) })),
    }),
  ),
  rejects: list(
    fields({ key: anyString, split: anyString, label, contentHash: anyString, kind: anyString, message: anyString }),
  ),
  ignored: list(fields({ key: anyString, reason: anyString })),
});

/** The workspace's manifest.json, checked, or a DataError that says which command writes it. */
export async function readManifest(workspace: BlobStore): Promise<Manifest> {
  const manifest = await readArtefact(workspace, MANIFEST_KEY, MANIFEST_VERSION, checkManifest);
  if (!manifest) throw new DataError(`no ${MANIFEST_KEY} in ${workspace.location}: run "cnn-codes extract" first`);
  return manifest;
}
