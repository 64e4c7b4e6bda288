import { promises as fs } from 'node:fs';
import { DataError, errorMessage } from '../../core/errors.js';
import { parseHeadArtefact, type HeadArtefact } from '../../core/workspace/head-artefact.js';

/** A head.json given by path (predict --head, export --head), checked like one read from a workspace. */
export async function readHeadFile(file: string): Promise<HeadArtefact> {
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw new DataError(`cannot read head ${file}: ${errorMessage(err)} (train one first, or pass --head FILE)`, {
      cause: err,
    });
  }
  return parseHeadArtefact(raw, file);
}
