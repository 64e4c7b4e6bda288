import type onnxProto from 'onnx-proto';

type Graph = onnxProto.onnx.GraphProto;

/**
 * Drops every node and initializer no graph output depends on. The backbone's own ImageNet classifier (1000-way
 * Gemm and its weights) would otherwise ride along in the exported file: runtimes prune it at load, the download
 * does not.
 */
export function pruneDeadNodes(graph: Graph): void {
  // Subgraphs (If, Loop) may read outer tensors by name; not worth tracing for a size saving: keep everything.
  if (graph.node.some((n) => (n.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length > 0))) return;
  const needed = new Set(graph.output.map((o) => o.name ?? ''));
  const kept: typeof graph.node = [];
  // Nodes are stored in topological order, so one backward sweep finds every producer of a needed tensor.
  for (let i = graph.node.length - 1; i >= 0; i--) {
    const n = graph.node[i]!;
    if (!(n.output ?? []).some((o) => needed.has(o))) continue;
    kept.push(n);
    for (const input of n.input ?? []) if (input) needed.add(input);
  }
  graph.node = kept.reverse();
  graph.initializer = graph.initializer.filter((t) => needed.has(t.name ?? ''));
  graph.valueInfo = graph.valueInfo.filter((v) => needed.has(v.name ?? ''));
  graph.input = graph.input.filter((i) => needed.has(i.name ?? ''));
}

/** Renames a tensor everywhere it appears: graph inputs and outputs, node inputs and outputs, value infos. */
export function renameTensor(graph: Graph, from: string, to: string): void {
  if (from === to) return;
  const swap = (name: string): string => (name === from ? to : name);
  for (const i of graph.input) if (i.name === from) i.name = to;
  for (const o of graph.output) if (o.name === from) o.name = to;
  for (const v of graph.valueInfo) if (v.name === from) v.name = to;
  for (const n of graph.node) {
    n.input = (n.input ?? []).map(swap);
    n.output = (n.output ?? []).map(swap);
  }
}
