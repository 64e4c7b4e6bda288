import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { crossValidate, createHead, defaultCGrid, matrixFromRows } from '../../core/heads/index.js';
import { decodeToRgb } from '../../core/image/preprocess.js';
import type { ModelDescriptor } from '../../core/models/descriptor.js';
import { prepareForTarget } from '../../core/models/prepare-target.js';
import type { CudaVariant } from '../../core/models/targets.js';
import { cosine, emulateFloat16, median, runCodes } from './float16-emulation.js';
import { HYMENOPTERA, MODELS_DIR } from './paths.js';

/**
 * What the GPU fidelity test and bench share: hymenoptera crops, the codes of a model's int8 graph or of its GPU graph
 * (run on CPU: float32 as it is, float16 through the rounding emulation), and the head the default run fits.
 */
export interface Image {
  split: string;
  label: number;
  crop: Buffer;
}

export async function loadHymenoptera(preprocess: ModelDescriptor['preprocess']): Promise<Image[]> {
  const images: Image[] = [];
  for (const split of ['train', 'val']) {
    for (const [label, cls] of ['ants', 'bees'].entries()) {
      const dir = path.join(HYMENOPTERA, split, cls);
      for (const file of (await readdir(dir)).filter((f) => !f.startsWith('.')).sort()) {
        // One training "ant" is Flickr's image-not-found GIF; it decodes like any other image.
        images.push({ split, label, crop: await decodeToRgb(await readFile(path.join(dir, file)), preprocess) });
      }
    }
  }
  return images;
}

/** The int8 graph the CPU path runs ('int8'), or the GPU graph of one CUDA variant. */
export async function codesOf(
  d: ModelDescriptor,
  variant: 'int8' | CudaVariant,
  subset: readonly Image[],
): Promise<Float32Array[]> {
  const bytes = await readFile(path.join(MODELS_DIR, d.name, d.file));
  const prepared =
    variant === 'int8'
      ? prepareForTarget(bytes, d, ['final'], 'cpu')
      : prepareForTarget(bytes, d, ['final'], 'cuda', variant);
  const half = variant !== 'int8' && variant.precision === 'float16';
  const graph = half ? emulateFloat16(prepared.bytes) : prepared.bytes;
  const batch = prepared.descriptor.input.batch === 'dynamic' ? 16 : 1;
  return runCodes(
    graph,
    prepared.inputName,
    prepared.outputs.final!,
    subset.map((i) => i.crop),
    d.input.size,
    !half,
    batch,
  );
}

/** What `cnn-codes run` does by default: logistic head, C by stratified 5-fold CV on train (seed 0); → val correct. */
export function defaultHeadScorer(
  trainCodes: Float32Array[],
  train: readonly Image[],
  val: readonly Image[],
): (rows: Float32Array[]) => number {
  const y = Int32Array.from(train, (i) => i.label);
  const X = matrixFromRows(trainCodes);
  const cv = crossValidate(
    defaultCGrid().map((C) => ({
      id: `C=${C}`,
      X,
      options: { kind: 'logistic' as const, C, classWeight: null, seed: 0 },
    })),
    y,
    { folds: 5, seed: 0 },
  );
  const head = createHead({ kind: 'logistic', C: cv.best.C, classWeight: null, seed: 0 }).fit(X, y);
  const yVal = Int32Array.from(val, (i) => i.label);
  return (rows) => Math.round(head.score(matrixFromRows(rows), yVal) * yVal.length);
}

export interface Fidelity {
  median: number;
  min: number;
  cosines: number[];
}

export function fidelity(reference: readonly Float32Array[], codes: readonly Float32Array[]): Fidelity {
  const cosines = reference.map((x, i) => cosine(x, codes[i]!));
  return { median: median(cosines), min: Math.min(...cosines), cosines };
}
