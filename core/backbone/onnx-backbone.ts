import { ModelError } from '../errors.js';
import type { ModelDescriptor } from '../models/descriptor.js';
import type { Target, TargetGraph } from '../models/prepare-target.js';
import { chooseInt8Weights, type Int8WeightsSetting } from '../models/int8-weights-choice.js';
import { openSession, Tensor, type InferenceSession, type SessionOptions } from './onnx-runtime.js';

export type { ExecutionProvider } from './onnx-runtime.js';

export interface BackboneOptions extends SessionOptions {
  /** Which graph to run (`prepareForTarget`): the provider's own by default; 'cuda' on 'cpu' checks the GPU graph. */
  target?: Target;
  /** CPU: int8 weights as shipped, as uint8, or 'auto' (default: as shipped where u8·s8 is exact on this CPU). */
  int8Weights?: Int8WeightsSetting;
}

/** A backbone cut at its cut points: raw RGB crops in, Float32Array codes out. */
export class OnnxBackbone {
  readonly descriptor: ModelDescriptor;
  readonly cuts: readonly string[];
  private readonly session: InferenceSession;
  private readonly inputName: string;
  private readonly outputs: Record<string, string>;

  private constructor(
    descriptor: ModelDescriptor,
    cuts: readonly string[],
    session: InferenceSession,
    inputName: string,
    outputs: Record<string, string>,
  ) {
    this.descriptor = descriptor;
    this.cuts = cuts;
    this.session = session;
    this.inputName = inputName;
    this.outputs = outputs;
  }

  static async create(
    modelBytes: Uint8Array,
    descriptor: ModelDescriptor,
    cuts: readonly string[],
    options: BackboneOptions = {},
  ): Promise<OnnxBackbone> {
    // Graph surgery (and its protobuf library) loads only here: a worker given a cached prepared graph never needs it.
    const { prepareForTarget } = await import('../models/prepare-target.js');
    return OnnxBackbone.fromPrepared(
      prepareForTarget(
        modelBytes,
        descriptor,
        cuts,
        options.target ?? options.executionProvider ?? 'cpu',
        {},
        chooseInt8Weights(options.int8Weights ?? 'auto'),
      ),
      cuts,
      options,
    );
  }

  /** A session over a graph `prepareForTarget` made, or one a cache of prepared graphs kept. */
  static async fromPrepared(
    prepared: TargetGraph,
    cuts: readonly string[],
    options: BackboneOptions = {},
  ): Promise<OnnxBackbone> {
    const descriptor = prepared.descriptor;
    const session = await openSession(prepared.bytes, options, `model ${descriptor.name}`);
    return new OnnxBackbone(descriptor, cuts, session, prepared.inputName, prepared.outputs);
  }

  /** Largest batch one `embed` call may take (1 for graphs exported with a static batch). */
  get maxBatch(): number {
    return this.descriptor.input.batch === 'dynamic' ? Number.POSITIVE_INFINITY : this.descriptor.input.batch;
  }

  /**
   * Runs a batch of raw RGB crops (HWC uint8, input.size) and returns, per cut point, one Float32Array of
   * [batch × dim] codes.
   */
  async embed(crops: readonly Uint8Array[]): Promise<Record<string, Float32Array>> {
    const [h, w] = this.descriptor.input.size;
    const bytesPerImage = h * w * 3;
    if (crops.length === 0) return Object.fromEntries(this.cuts.map((c) => [c, new Float32Array(0)]));
    if (crops.length > this.maxBatch)
      throw new ModelError(`${this.descriptor.name} takes batches of ${this.maxBatch}, got ${crops.length}`);
    const batch = new Uint8Array(bytesPerImage * crops.length);
    crops.forEach((crop, i) => {
      if (crop.byteLength !== bytesPerImage)
        throw new ModelError(`crop ${i} has ${crop.byteLength} bytes, expected ${bytesPerImage}`);
      batch.set(crop, i * bytesPerImage);
    });
    const feeds = { [this.inputName]: new Tensor('uint8', batch, [crops.length, h, w, 3]) };
    const results = await this.session.run(feeds, Object.values(this.outputs));
    const codes: Record<string, Float32Array> = {};
    for (const cut of this.cuts) {
      const tensor = results[this.outputs[cut]!];
      if (!tensor) throw new ModelError(`${this.descriptor.name}: missing output for cut point ${cut}`);
      // The graph decides the width, the descriptor only claims it: a wrong `dim` would cut every code short (or run
      // into the next image's) and go on to train a head on the pieces.
      const dim = this.descriptor.cutPoints[cut]!.dim;
      const [rows, width] = [tensor.dims[0], tensor.dims.slice(1).reduce((a, b) => a * b, 1)];
      if (rows !== crops.length || width !== dim)
        throw new ModelError(
          `${this.descriptor.name}: cut point "${cut}" declares dim ${dim}, but the graph gives ${width} values an image (${tensor.dims.join('×')}): fix "dim" in the descriptor`,
        );
      codes[cut] = tensor.data as Float32Array;
    }
    return codes;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
