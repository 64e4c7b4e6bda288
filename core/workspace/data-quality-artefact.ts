import * as v from 'valibot';
import type { BlobStore } from '../ports/blob-store.js';
import { CODE_MAP_KEY, DATA_QUALITY_KEY, type CodeMapFile, type DataQuality } from '../quality/data-quality.js';
import { checkedElsewhere, count, fields, finite, list, numberOrNull, oneOf, readArtefact, text } from './schema.js';

/**
 * data-quality.json and code-map.json, the evaluate step's analysis of the data: written with a version, read back
 * checked (the report reads them when evaluate did not hand them over). Keys and types stay with core/quality.
 */
export const DATA_QUALITY_VERSION = 1;
export const CODE_MAP_VERSION = 1;

const keys = list(text);

/** data-quality.json as written: the analysis (typed by core/quality, which computes it) with its version. */
export const DataQualitySchema = fields({
  version: oneOf(DATA_QUALITY_VERSION),
  duplicates: list(keys),
  leakage: list(fields({ key: text, split: text, trainKeys: keys, cosine: finite })),
  labelIssues: checkedElsewhere<DataQuality['labelIssues']>()(
    list(fields({ key: text, given: text, score: numberOrNull, suggested: v.optional(v.nullable(text)) })),
  ),
});

/** code-map.json as written: the 2-D map of the codes (typed by core/quality) with its version. */
export const CodeMapSchema = fields({
  version: oneOf(CODE_MAP_VERSION),
  layer: text,
  explained: checkedElsewhere<CodeMapFile['explained']>()(list(numberOrNull)),
  points: list(fields({ key: text, split: text, label: count, x: finite, y: finite })),
});

/** What evaluate writes: the analysis with the version its reader checks. */
export const dataQualityFile = (quality: DataQuality): string =>
  JSON.stringify({ version: DATA_QUALITY_VERSION, ...quality }, null, 2);
export const codeMapFile = (map: CodeMapFile): string => JSON.stringify({ version: CODE_MAP_VERSION, ...map });

/** The workspace's data-quality.json, checked; undefined when evaluate has not written one. */
export function readDataQuality(workspace: BlobStore): Promise<DataQuality | undefined> {
  return readArtefact(workspace, DATA_QUALITY_KEY, DATA_QUALITY_VERSION, DataQualitySchema);
}

/** The workspace's code-map.json, checked; undefined when evaluate has not written one. */
export function readCodeMap(workspace: BlobStore): Promise<CodeMapFile | undefined> {
  return readArtefact(workspace, CODE_MAP_KEY, CODE_MAP_VERSION, CodeMapSchema);
}
