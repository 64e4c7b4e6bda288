import { integer, oneOf } from '../messages/validate.js';
import type { BlobStore } from '../ports/blob-store.js';
import { CODE_MAP_KEY, DATA_QUALITY_KEY, type CodeMapFile, type DataQuality } from '../quality/data-quality.js';
import { anyString, fields, finite, list, numberOrNull, readArtefact } from './check.js';

/**
 * data-quality.json and code-map.json, the evaluate step's analysis of the data: written with a version, read back
 * checked (the report reads them when evaluate did not hand them over). Keys and types stay with core/quality.
 */
export const DATA_QUALITY_VERSION = 1;
export const CODE_MAP_VERSION = 1;

const keys = list(anyString);

const checkDataQuality = fields<DataQuality>({
  version: oneOf(DATA_QUALITY_VERSION),
  duplicates: list(keys),
  leakage: list(fields({ key: anyString, split: anyString, trainKeys: keys, cosine: finite })),
  labelIssues: list(
    fields(
      { key: anyString, given: anyString, score: numberOrNull },
      { suggested: (value, path, problems) => (value === null ? null : anyString(value, path, problems)) },
    ),
  ),
});

const checkCodeMap = fields<CodeMapFile>({
  version: oneOf(CODE_MAP_VERSION),
  layer: anyString,
  explained: list(numberOrNull),
  points: list(
    fields({ key: anyString, split: anyString, label: integer(0, Number.MAX_SAFE_INTEGER), x: finite, y: finite }),
  ),
});

/** What evaluate writes: the analysis with the version its reader checks. */
export const dataQualityFile = (quality: DataQuality): string =>
  JSON.stringify({ version: DATA_QUALITY_VERSION, ...quality }, null, 2);
export const codeMapFile = (map: CodeMapFile): string => JSON.stringify({ version: CODE_MAP_VERSION, ...map });

/** The workspace's data-quality.json, checked; undefined when evaluate has not written one. */
export function readDataQuality(workspace: BlobStore): Promise<DataQuality | undefined> {
  return readArtefact(workspace, DATA_QUALITY_KEY, DATA_QUALITY_VERSION, checkDataQuality);
}

/** The workspace's code-map.json, checked; undefined when evaluate has not written one. */
export function readCodeMap(workspace: BlobStore): Promise<CodeMapFile | undefined> {
  return readArtefact(workspace, CODE_MAP_KEY, CODE_MAP_VERSION, checkCodeMap);
}
