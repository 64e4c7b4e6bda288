import { ConfigError } from '../errors.js';
import {
  resolveHeadOptions,
  StandardizedHead,
  writeHeadJson,
  type Classifier,
  type HeadJSON,
  type HeadOptions,
} from './head.js';

export const HEAD_FORMAT = 'cnn-codes.head';
export const HEAD_VERSION = 1;

/** Validates a parsed HeadJSON and returns a fitted head that predicts exactly as the one that wrote it. */
export function loadHead(json: unknown): Classifier {
  const h = json as Partial<HeadJSON> | null;
  if (typeof h !== 'object' || h === null) throw new ConfigError('head JSON must be an object');
  if (h.format !== HEAD_FORMAT)
    throw new ConfigError(`head JSON format must be '${HEAD_FORMAT}'; got ${JSON.stringify(h.format)}`);
  if (h.version !== HEAD_VERSION) {
    throw new ConfigError(
      `head JSON version ${JSON.stringify(h.version)} is not supported (this build reads ${HEAD_VERSION})`,
    );
  }
  const options = resolveHeadOptions(h.options as HeadOptions);
  if (!(typeof options.C === 'number' && options.C > 0))
    throw new ConfigError(`head JSON options.C must be > 0; got ${options.C}`);
  const k = positiveInteger(h.nClasses, 'nClasses');
  const d = positiveInteger(h.nFeatures, 'nFeatures');
  if (k < 2) throw new ConfigError(`head JSON nClasses must be ≥ 2; got ${k}`);
  const outputs = k === 2 ? 1 : k;
  const mean = finiteArray(h.standardizer?.mean, d, 'standardizer.mean');
  const scale = finiteArray(h.standardizer?.scale, d, 'standardizer.scale');
  if (scale.some((s) => s <= 0)) throw new ConfigError('head JSON standardizer.scale must be > 0');
  if (!Array.isArray(h.weights) || h.weights.length !== outputs) {
    throw new ConfigError(`head JSON weights must have ${outputs} rows for ${k} classes`);
  }
  const weights = h.weights.map((w, c) => finiteArray(w, d, `weights[${c}]`));
  const intercepts = finiteArray(h.intercepts, outputs, 'intercepts');
  const fit = h.fit ?? { iterations: 0, converged: false };
  if (
    h.temperature !== undefined &&
    !(typeof h.temperature === 'number' && h.temperature > 0 && isFinite(h.temperature))
  )
    throw new ConfigError(
      `head JSON temperature must be a positive finite number; got ${JSON.stringify(h.temperature)}`,
    );
  const checked = writeHeadJson(options, {
    nClasses: k,
    mean,
    scale,
    coef: { rows: outputs, cols: d, data: Float64Array.from(weights.flat()) },
    intercept: intercepts,
    fit: { iterations: Number(fit.iterations) || 0, converged: fit.converged === true },
    ...(h.temperature !== undefined ? { temperature: h.temperature } : {}),
  });
  return new StandardizedHead(options).restore(checked);
}

/**
 * The same model on raw (unstandardized) features: W' = W / scale, b' = b − W'·mean. For exporters that want one
 * matrix multiply; predictions agree with the head up to rounding.
 */
export function rawSpaceLinear(json: HeadJSON): { weights: number[][]; intercepts: number[] } {
  const { mean, scale } = json.standardizer;
  const weights = json.weights.map((w) => w.map((v, j) => v / scale[j]!));
  const intercepts = json.intercepts.map((b, c) => b - weights[c]!.reduce((s, v, j) => s + v * mean[j]!, 0));
  return { weights, intercepts };
}

function positiveInteger(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new ConfigError(`head JSON ${name} must be a positive integer; got ${JSON.stringify(v)}`);
  return v;
}

function finiteArray(v: unknown, length: number, name: string): number[] {
  if (!Array.isArray(v) || v.length !== length) {
    throw new ConfigError(
      `head JSON ${name} must be an array of ${length} numbers; got ${Array.isArray(v) ? v.length : typeof v}`,
    );
  }
  for (const x of v)
    if (typeof x !== 'number' || !Number.isFinite(x))
      throw new ConfigError(`head JSON ${name} has a non-number or non-finite value`);
  return v as number[];
}
