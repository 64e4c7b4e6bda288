import { ConfigError } from '../errors.js';

/**
 * What becomes of each activation the int8 graph quantized: 'clamp' keeps only the range its quantization implied (a
 * Clip); 'int8-rounding' keeps the rounding too (QuantizeLinear → DequantizeLinear, float32 in and out); 'int8-exact'
 * computes on the integers themselves, held in float32, so that every rounding matches the int8 kernels' (QOperator
 * graphs only; float32 only).
 */
export type ActivationMode = 'clamp' | 'int8-rounding' | 'int8-exact';

/**
 * A model descriptor: everything the pipeline needs to know about one ONNX backbone. It is plain JSON so that users
 * (and the Python fine-tune job) can write one without touching code. `version` guards the format.
 */
export interface ModelDescriptor {
  version: 1;
  name: string;
  /** File name of the .onnx, resolved against the models directory (`<dir>/<name>/<file>` or `<dir>/<file>`). */
  file: string;
  sha256: string;
  /** Where users with internet can fetch it; verified against sha256 before use. */
  url?: string;
  license?: string;
  input: InputSpec;
  preprocess: PreprocessSpec;
  /** `final` must exist: the pooled penultimate code. Others are earlier layers, ordered shallow → deep. */
  cutPoints: Record<string, CutPoint>;
  /** File of class names (one per line) for the model's own classifier output, if any. */
  labels?: string;
  /**
   * Which variant each target runs. CPU always runs the file as shipped (int8 stays int8). CUDA runs a float graph
   * derived from it (`cnn-codes prepare --target cuda`): float16 where that holds the codes' accuracy (checked against
   * the int8 codes on hymenoptera val for the built-ins), float32 otherwise and by default; `activations` says how
   * the int8 graph's quantized activations carry over ('clamp' by default; see `ActivationMode` and docs/deploy.md,
   * "GPU graph fidelity").
   */
  targets?: { cuda?: { precision: 'float16' | 'float32'; activations?: ActivationMode } };
}

export interface InputSpec {
  name: string;
  layout: 'NCHW' | 'NHWC';
  dtype: 'float32' | 'uint8';
  /** 'dynamic' or a fixed batch size (e.g. 1 for graphs exported with a static batch). */
  batch: 'dynamic' | number;
  /** [height, width] */
  size: [number, number];
}

export interface PreprocessSpec {
  /** Resize so the shorter side is this many pixels (torchvision `Resize(int)`), or exact [h, w]. */
  resize: number | [number, number];
  /** Center crop [h, w] after resizing; must equal input.size. */
  crop: [number, number];
  /** Resampling kernel used by the resize (sharp kernel names). */
  kernel: 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
  /** float32 inputs: x = (pixel * scale - mean) / std, per RGB channel. Ignored for uint8 inputs. */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  /**
   * Test-time augmentation: 'flip' embeds the crop and its horizontal mirror and stores the mean code. Part of the
   * preprocessing, so codes with and without it live in different cache namespaces.
   */
  tta?: 'flip';
  /**
   * 'fast': plain JPEGs are decoded by the near-exact decoder (`decodeJpegNearExact`: crops 0.018 levels mean |Δ| from
   * torchvision's on hymenoptera). Absent: the exact path, byte-identical to torchvision. Set from the decode setting
   * (`withDecode`); part of the preprocessing, so the two paths' codes live in different cache namespaces and never
   * mix.
   */
  decode?: 'fast';
}

/** How JPEGs are decoded: 'exact' (byte-identical to torchvision's crop) or 'fast' (near-exact). */
export type DecodeSetting = 'fast' | 'exact';

/**
 * Exact. The near-exact decode misses the bar for a default (codes at cosine ≥ 0.9999 to the exact path's):
 * the int8 backbones' codes are not that stable under any change of the input, one level on one byte of a crop
 * moves mobilenetv2-12-int8's code to cosine 0.984, and the near-exact crops give 0.972–0.99 on hymenoptera
 * (test/integration/near-exact-decode.test.ts).
 */
export const DEFAULT_DECODE: DecodeSetting = 'exact';

/** The descriptor with the decode setting in its preprocessing ('exact' is the field's absence, as before it existed). */
export function withDecode(descriptor: ModelDescriptor, decode: DecodeSetting): ModelDescriptor {
  const { decode: _previous, ...preprocess } = descriptor.preprocess;
  return { ...descriptor, preprocess: decode === 'fast' ? { ...preprocess, decode } : preprocess };
}

/** The decode setting from its text (an environment variable or a flag), or a ConfigError naming `source`. */
export function parseDecodeSetting(value: string | undefined, source: string): DecodeSetting {
  if (value === undefined || value === '') return DEFAULT_DECODE;
  if (value === 'fast' || value === 'exact') return value;
  throw new ConfigError(`${source} must be fast or exact, got "${value}"`);
}

export interface CutPoint {
  /** Graph tensor to read. */
  tensor: string;
  /** What the layer is, for people (e.g. "features[17]: last bottleneck"). */
  description?: string;
  /** Dimension of the pooled vector. */
  dim: number;
  /**
   * 'NCHW' (default): a feature map, averaged over H and W (a [N,C,1,1] tensor works too).
   * 'NC': already a vector per image.
   */
  layout?: 'NCHW' | 'NC';
  /** Quantized tensors: initializer names of scale and zero point. Omit to read them off the graph. */
  dequantize?: { scale: string; zeroPoint: string };
}

const KERNELS = new Set(['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3']);

/** Validates untrusted JSON (a user's descriptor, or one written by the fine-tune job) into a descriptor. */
export function parseDescriptor(json: unknown, source = 'descriptor'): ModelDescriptor {
  const fail = (what: string): never => {
    throw new ConfigError(`${source}: ${what}`);
  };
  if (!isObject(json)) fail('must be a JSON object');
  const d = json as Record<string, unknown>;
  if (d.version !== 1) fail(`unsupported version ${JSON.stringify(d.version)} (expected 1)`);
  for (const key of ['name', 'file', 'sha256'] as const) {
    if (typeof d[key] !== 'string' || (d[key] as string).length === 0) fail(`"${key}" must be a non-empty string`);
  }
  if (!/^[0-9a-f]{64}$/.test(d.sha256 as string)) fail('"sha256" must be 64 lowercase hex digits');
  if (!/^[A-Za-z0-9._-]+$/.test(d.name as string) || d.name === '.' || d.name === '..')
    fail('"name" may use letters, digits, ".", "_" and "-" only');
  // Resolved against the descriptor's folder and the models cache: a plain relative path that stays inside them.
  if (!isConfinedPath(d.file as string))
    fail('"file" must be a relative path inside the descriptor\'s folder: no "..", no absolute path');
  if (d.url !== undefined && typeof d.url !== 'string') fail('"url" must be a string');

  const input = d.input as Record<string, unknown> | undefined;
  if (!isObject(input)) fail('"input" must be an object');
  const inp = input as Record<string, unknown>;
  if (typeof inp.name !== 'string') fail('"input.name" must be a string');
  if (inp.layout !== 'NCHW' && inp.layout !== 'NHWC') fail('"input.layout" must be "NCHW" or "NHWC"');
  if (inp.dtype !== 'float32' && inp.dtype !== 'uint8') fail('"input.dtype" must be "float32" or "uint8"');
  if (inp.batch !== 'dynamic' && !(Number.isInteger(inp.batch) && (inp.batch as number) > 0)) {
    fail('"input.batch" must be "dynamic" or a positive integer');
  }
  if (!isPair(inp.size)) fail('"input.size" must be [height, width]');
  if ((inp.size as number[]).some((n) => n > MAX_INPUT_SIDE))
    fail(`"input.size" may be at most ${MAX_INPUT_SIDE}×${MAX_INPUT_SIDE} (one 8000² crop took 22.7 GB)`);

  const pre = d.preprocess as Record<string, unknown> | undefined;
  if (!isObject(pre)) fail('"preprocess" must be an object');
  const p = pre as Record<string, unknown>;
  if (!(isPositiveInt(p.resize) || isPair(p.resize))) fail('"preprocess.resize" must be an integer or [h, w]');
  if ([p.resize].flat().some((n) => (n as number) > 2 * MAX_INPUT_SIDE))
    fail(`"preprocess.resize" may be at most ${2 * MAX_INPUT_SIDE}`);
  if (!isPair(p.crop)) fail('"preprocess.crop" must be [height, width]');
  const crop = p.crop as [number, number];
  const size = inp.size as [number, number];
  if (crop[0] !== size[0] || crop[1] !== size[1]) fail('"preprocess.crop" must equal "input.size"');
  if (typeof p.kernel !== 'string' || !KERNELS.has(p.kernel))
    fail(`"preprocess.kernel" must be one of ${[...KERNELS].join(', ')}`);
  if (typeof p.scale !== 'number' || !(p.scale > 0)) fail('"preprocess.scale" must be a positive number');
  if (!isTriple(p.mean)) fail('"preprocess.mean" must be three numbers');
  if (!isTriple(p.std) || (p.std as number[]).some((s) => !(s > 0)))
    fail('"preprocess.std" must be three positive numbers');
  if (p.tta !== undefined && p.tta !== 'flip') fail('"preprocess.tta" must be "flip" when given');
  if (p.decode !== undefined && p.decode !== 'fast') fail('"preprocess.decode" must be "fast" when given');

  const cuts = d.cutPoints as Record<string, unknown> | undefined;
  if (!isObject(cuts)) fail('"cutPoints" must be an object');
  if (!('final' in (cuts as object))) fail('"cutPoints" must include "final"');
  for (const [cutName, cut] of Object.entries(cuts as Record<string, unknown>)) {
    if (!/^[A-Za-z0-9_-]+$/.test(cutName))
      fail(`cut point name "${cutName}" may use letters, digits, "_" and "-" only`);
    if (!isObject(cut)) fail(`cut point "${cutName}" must be an object`);
    const c = cut as Record<string, unknown>;
    if (typeof c.tensor !== 'string') fail(`cut point "${cutName}": "tensor" must be a string`);
    if (!isPositiveInt(c.dim) || c.dim > MAX_DIM)
      fail(`cut point "${cutName}": "dim" must be a positive integer up to ${MAX_DIM}`);
    if (c.layout !== undefined && c.layout !== 'NCHW' && c.layout !== 'NC')
      fail(`cut point "${cutName}": "layout" must be "NCHW" or "NC"`);
    const dq = c.dequantize;
    if (dq !== undefined) {
      if (!isObject(dq) || typeof dq.scale !== 'string' || typeof dq.zeroPoint !== 'string') {
        fail(`cut point "${cutName}": "dequantize" must be {scale, zeroPoint}`);
      }
    }
  }
  if (d.labels !== undefined && typeof d.labels !== 'string') fail('"labels" must be a string');
  if (d.targets !== undefined) {
    const cuda = isObject(d.targets) ? d.targets.cuda : null;
    const activations = isObject(cuda) ? cuda.activations : undefined;
    const validActivations =
      activations === undefined ||
      activations === 'clamp' ||
      activations === 'int8-rounding' ||
      activations === 'int8-exact';
    if (
      cuda !== undefined &&
      !(isObject(cuda) && (cuda.precision === 'float16' || cuda.precision === 'float32') && validActivations)
    ) {
      fail(
        '"targets" must be {"cuda": {"precision": "float16" | "float32", "activations"?: "clamp" | "int8-rounding" | "int8-exact"}}',
      );
    }
  }
  return json as ModelDescriptor;
}

/** Largest crop side a descriptor may ask for: far above any ImageNet backbone (224–518), far below 22 GB a batch. */
export const MAX_INPUT_SIDE = 1024;
/** Largest code width (ViT-H's tokens are 1,280; ConvNeXt-XL's 2,048). */
const MAX_DIM = 65_536;

function isConfinedPath(file: string): boolean {
  if (file.length > 255 || file.startsWith('/') || file.includes('\\') || file.includes('\0')) return false;
  return file.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isPositiveInt(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) > 0;
}
function isPair(v: unknown): v is [number, number] {
  return Array.isArray(v) && v.length === 2 && v.every(isPositiveInt);
}
function isTriple(v: unknown): v is [number, number, number] {
  return Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}
