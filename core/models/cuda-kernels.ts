import onnxProto from 'onnx-proto';
import table from './cuda-operator-kernels.json' with { type: 'json' };
import { outputElementType } from './onnx-tensors.js';

const { onnx } = onnxProto;

interface KernelRow {
  since: number;
  until: number | null;
  types: Record<string, string[]>;
}

/** Where the list of CUDA kernels was transcribed from (onnxruntime's generated OperatorKernels.md). */
export const CUDA_KERNELS_SOURCE = table.source;
const OPERATORS = table.operators as unknown as Record<string, KernelRow[]>;

/**
 * The CUDA kernel onnxruntime registers for an ai.onnx op at a model's opset, or undefined: the row whose opset range
 * holds the model's opset. Every type its constraints allow is returned as ONNX spells it ("tensor(float16)").
 */
export function cudaKernel(
  op: string,
  opset: number,
): { since: number; until: number | null; types: Set<string> } | undefined {
  const row = (OPERATORS[op] ?? []).find((r) => r.since <= opset && (r.until === null || opset <= r.until));
  return row ? { since: row.since, until: row.until, types: new Set(Object.values(row.types).flat()) } : undefined;
}

export function cudaSupportsFloat16(op: string, opset: number): boolean {
  return cudaKernel(op, opset)?.types.has('tensor(float16)') ?? false;
}

/** ONNX element type number → the documentation's spelling. */
export function onnxTypeName(elemType: number): string {
  const names: Record<number, string> = {
    [onnx.TensorProto.DataType.FLOAT]: 'float',
    [onnx.TensorProto.DataType.FLOAT16]: 'float16',
    [onnx.TensorProto.DataType.DOUBLE]: 'double',
    [onnx.TensorProto.DataType.UINT8]: 'uint8',
    [onnx.TensorProto.DataType.INT8]: 'int8',
    [onnx.TensorProto.DataType.INT32]: 'int32',
    [onnx.TensorProto.DataType.INT64]: 'int64',
    [onnx.TensorProto.DataType.BOOL]: 'bool',
  };
  return `tensor(${names[elemType] ?? `type${elemType}`})`;
}

export interface CudaCoverage {
  nodes: number;
  /** Nodes onnxruntime would have to run on the CPU: no CUDA kernel for the op at this opset, or not for its type. */
  missing: Array<{ node: string; op: string; domain: string; dtype: string; reason: string }>;
}

/**
 * Checks every node of a model against the CUDA kernel list: the op (ai.onnx domain) must have a kernel at the model's
 * opset for the element type it computes in (its first input; for Cast, its target type too).
 */
export function cudaCoverage(modelBytes: Uint8Array): CudaCoverage {
  const model = onnx.ModelProto.decode(modelBytes);
  const graph = model.graph as onnxProto.onnx.GraphProto;
  const opset = Number(model.opsetImport.find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx')?.version ?? 1);
  const types = new Map<string, number>();
  for (const i of graph.input) types.set(i.name ?? '', i.type?.tensorType?.elemType ?? 0);
  for (const t of graph.initializer) types.set(t.name ?? '', t.dataType ?? 0);
  const missing: CudaCoverage['missing'] = [];
  for (const n of graph.node) {
    const inputTypes = (n.input ?? []).map((i) => types.get(i));
    const outType = outputElementType(n, inputTypes);
    for (const o of n.output ?? []) if (outType !== undefined) types.set(o, outType);
    const op = n.opType ?? '';
    const domain = n.domain || 'ai.onnx';
    const dtype = onnxTypeName(inputTypes[0] ?? 0);
    const fail = (reason: string): void => void missing.push({ node: n.name ?? '', op, domain, dtype, reason });
    const kernel = domain === 'ai.onnx' ? cudaKernel(op, opset) : undefined;
    if (!kernel)
      fail(domain === 'ai.onnx' ? `no CUDA kernel for ${op} at opset ${opset}` : `domain ${domain} is not in the list`);
    else if (!kernel.types.has(dtype))
      fail(
        `CUDA ${op} (opset ${kernel.since}${kernel.until === null ? '+' : `-${kernel.until}`}) has no ${dtype} kernel`,
      );
    else if (op === 'Cast' && !kernel.types.has(onnxTypeName(outType ?? 0)))
      fail(`CUDA Cast has no ${onnxTypeName(outType ?? 0)} output`);
  }
  return { nodes: graph.node.length, missing };
}
