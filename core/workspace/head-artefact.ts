import { DataError } from '../errors.js';
import type { HeadJSON, HeadOptions } from '../heads/index.js';
import type { CvRow } from '../heads/model-selection.js';
import type { TrainQuality } from '../quality/data-quality.js';
import * as v from 'valibot';
import type { BlobStore } from '../ports/blob-store.js';
import {
  anyObject,
  checkedElsewhere,
  count,
  fields,
  finite,
  integer,
  list,
  oneOf,
  parseArtefact,
  positive,
  readArtefact,
  text,
} from './schema.js';
import { HEAD_KEY } from './keys.js';

export const HEAD_ARTEFACT_VERSION = 1;

/** Temperature scaling fitted on the train step's out-of-fold probabilities (core/heads/calibration.ts). */
export interface Calibration {
  method: 'temperature';
  temperature: number;
  /** Out-of-fold rows it was fitted on. */
  rows: number;
  /** Out-of-fold ECE, before and after. */
  outOfFoldEce: [number, number];
  /** Out-of-fold mean log-loss, before and after. */
  outOfFoldLogLoss: [number, number];
}

const modelRef = fields({ name: text, sha256: text });
const cvRow = checkedElsewhere<CvRow>()(anyObject);

/** head.json (and heads/<cacheKey>.json): a fitted head plus what it was trained on and how it was chosen. */
export const HeadArtefactSchema = fields({
  version: oneOf(HEAD_ARTEFACT_VERSION),
  model: modelRef,
  layer: text,
  namespace: text,
  classes: list(text),
  options: checkedElsewhere<HeadOptions>()(fields({ kind: oneOf('logistic', 'svm'), C: positive })),
  /** wallSeconds / cpuSeconds: the whole model selection (CPU over every thread); engine: how the heads were fitted. */
  cv: v.nullable(
    fields({
      folds: integer(2, 1_000),
      seed: finite,
      table: list(cvRow),
      best: cvRow,
      wallSeconds: v.optional(finite),
      cpuSeconds: v.optional(finite),
      engine: v.optional(text),
    }),
  ),
  /** The head itself; `loadHead` (core/heads) owns its format and checks it fully before use. */
  head: checkedElsewhere<HeadJSON>()(anyObject),
  trainedOn: count,
  fitSeconds: finite,
  /** Duplicates within train (kept together in CV folds) and likely label errors; absent in older files. */
  quality: v.optional(checkedElsewhere<TrainQuality>()(v.unknown())),
  /** The temperature the head's probabilities are divided by (also in `head.temperature`) and what it did. */
  calibration: v.optional(checkedElsewhere<Calibration>()(v.unknown())),
  /** Hash of everything the head depends on; equal keys mean an identical head, so it is reused, not refitted. */
  cacheKey: text,
  /** Serverless runs: which compute fitted the head and why. */
  compute: v.optional(fields({ where: text, why: text })),
});
export type HeadArtefact = v.InferOutput<typeof HeadArtefactSchema>;

/** The head artefact at `key`, checked; undefined when there is none. */
export function readHeadArtefact(workspace: BlobStore, key = HEAD_KEY): Promise<HeadArtefact | undefined> {
  return readArtefact(workspace, key, HEAD_ARTEFACT_VERSION, HeadArtefactSchema);
}

/** The workspace's head.json, or a DataError that says which command writes it. */
export async function requireHeadArtefact(workspace: BlobStore): Promise<HeadArtefact> {
  const artefact = await readHeadArtefact(workspace);
  if (!artefact) throw new DataError(`no ${HEAD_KEY} in ${workspace.location}: run "cnn-codes train" first`);
  return artefact;
}

/** A head artefact read from a file outside any workspace (`predict --head FILE`, `export --head FILE`). */
export function parseHeadArtefact(raw: unknown, file: string): HeadArtefact {
  const artefact = parseArtefact(raw, 'file:', file, HEAD_ARTEFACT_VERSION, HeadArtefactSchema);
  // A head from elsewhere names its backbone, which the registry then loads: a name, never a path.
  if (!MODEL_NAME.test(artefact.model.name))
    throw new DataError(
      `${file}: model.name must be a model name (letters, digits, ".", "_", "-"), not a path: ${JSON.stringify(artefact.model.name.slice(0, 80))}`,
    );
  const nClasses = (artefact.head as { nClasses?: unknown }).nClasses;
  if (nClasses !== artefact.classes.length)
    throw new DataError(
      `${file}: the head has ${JSON.stringify(nClasses)} classes but "classes" names ${artefact.classes.length}`,
    );
  return artefact;
}

/** The registry's rule for model names (parseDescriptor checks descriptors' names the same way). */
const MODEL_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
