import { readJsonFile } from '../../core/adapters/regular-file.js';
import { DataError, errorMessage } from '../../core/errors.js';
import { parseHeadArtefact, type HeadArtefact } from '../../core/workspace/head-artefact.js';

/** A head.json given by path (predict --head, export --head), checked like one read from a workspace. */
export async function readHeadFile(file: string): Promise<HeadArtefact> {
  let raw: unknown;
  try {
    raw = await readJsonFile(file, HEAD_FILE_LIMIT, 'head');
  } catch (err) {
    throw new DataError(`cannot read head ${file}: ${errorMessage(err)} (train one first, or pass --head FILE)`, {
      cause: err,
    });
  }
  return parseHeadArtefact(raw, file);
}

/** A head of 1,000 classes × 4,096 features is ~80 MB of JSON; more is not a head file. */
const HEAD_FILE_LIMIT = 256 * 2 ** 20;
