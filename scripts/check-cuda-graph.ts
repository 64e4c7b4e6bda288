import { readFile } from 'node:fs/promises';
import { BUILTIN_MODELS } from '../core/models/builtin.js';
import { cudaCoverage } from '../core/models/cuda-kernels.js';
import { prepareForTarget } from '../core/models/prepare-target.js';

/**
 * The extract image's build step (`node dist/scripts/check-cuda-graph.js MODEL FILE`, functions/extract/Dockerfile):
 * prepares the GPU graph the worker will prepare at start, and fails the build if any node would fall back to the CPU.
 * Prints what the job will run.
 */
const [name, file] = process.argv.slice(2);
const descriptor = BUILTIN_MODELS.find((d) => d.name === name);
if (!descriptor || !file) throw new Error(`usage: check-cuda-graph.js BUILTIN_MODEL FILE (got ${name}, ${file})`);
const started = performance.now();
const prepared = prepareForTarget(await readFile(file), descriptor, Object.keys(descriptor.cutPoints), 'cuda');
const coverage = cudaCoverage(prepared.bytes);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
process.stdout.write(
  `${name}: cuda graph in ${prepared.precision}, activations ${prepared.activations}, ${coverage.nodes} nodes, prepared in ${seconds} s\n`,
);
if (coverage.missing.length > 0) {
  process.stderr.write(
    `nodes without a CUDA kernel:\n${coverage.missing.map((m) => `  ${m.domain}:${m.op} ${m.dtype} (${m.reason})`).join('\n')}\n`,
  );
  process.exit(1);
}
