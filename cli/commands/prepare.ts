import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { DEFAULT_MODEL } from '../../core/models/builtin.js';
import { resolveModelFile } from '../../core/models/registry.js';
import { choiceFlag, stringFlag } from '../args.js';
import type { CliCommand } from '../command.js';
import { localDeps } from '../local-deps.js';

const prepareCommand: CliCommand = {
  name: 'prepare',
  summary: 'write the graph a target runs: --target cpu (the model as shipped) or cuda (float16/float32 for the GPU)',
  options: {
    model: { type: 'string' },
    target: { type: 'string' },
    output: { type: 'string' },
    layer: { type: 'string' },
    precision: { type: 'string' },
    'models-dir': { type: 'string', multiple: true },
    'allow-download': { type: 'boolean', default: false },
  },
  usage: 'prepare --target cpu|cuda --output FILE [--model NAME|FILE] [--layer NAMES] [--precision P]',
  example: 'cnn-codes prepare --target cuda --output mobilenetv2-cuda.onnx',
  flagDocs: {
    target: {
      arg: 'cpu|cuda',
      text: 'cpu: the graph extraction runs on CPU; cuda: the float graph the GPU job runs (required)',
    },
    output: { arg: 'FILE', text: 'where to write the .onnx (required)' },
    layer: { arg: 'NAMES', text: 'cut points, comma list or all (default: all, what the GPU job prepares)' },
    precision: {
      arg: 'P',
      text: "cuda only: float16 or float32 (default: the model descriptor's choice; float16 clamps activations, the exact int8 graph is float32)",
    },
  },
  async run(values, _positionals, ctx) {
    const target = choiceFlag(values, 'target', ['cpu', 'cuda'] as const);
    if (!target) throw new ConfigError('prepare: --target cpu|cuda is required');
    const output = stringFlag(values, 'output');
    if (!output) throw new ConfigError('prepare: --output FILE is required');
    const precision = choiceFlag(values, 'precision', ['float16', 'float32'] as const);
    if (precision && target !== 'cuda') throw new ConfigError('prepare: --precision applies to --target cuda only');
    const deps = localDeps(ctx.env, {
      out: '.',
      modelsDirs: (values['models-dir'] as string[] | undefined) ?? [],
      allowDownload: values['allow-download'] === true,
    });
    const model = await deps.registry.lookup(stringFlag(values, 'model') ?? DEFAULT_MODEL, deps.modelsDirs);
    const { resolveCuts } = await import('../../core/use-cases/extract.js');
    const cuts = resolveCuts(
      model,
      (stringFlag(values, 'layer') ?? 'all').split(',').map((s) => s.trim()),
    );
    const file = await resolveModelFile(model, {
      modelsDirs: deps.modelsDirs,
      cacheDir: ctx.env.modelCacheDir,
      allowDownload: values['allow-download'] === true,
    });
    // The ONNX protobuf code loads only for the commands that use it.
    const { prepareForTarget } = await import('../../core/models/prepare-target.js');
    const { cudaCoverage } = await import('../../core/models/cuda-kernels.js');
    // float16 cannot hold the exact int8 graph's integer sums: asking for it means the clamped float graph.
    const override =
      precision === 'float16' ? { precision, activations: 'clamp' as const } : precision ? { precision } : {};
    const prepared = prepareForTarget(await fs.readFile(file.path), model.descriptor, cuts, target, override);
    const coverage = cudaCoverage(prepared.bytes);
    const destination = path.resolve(output);
    await fs.mkdir(path.dirname(destination), { recursive: true });
    const temporary = `${destination}.${process.pid}.tmp`;
    await fs.writeFile(temporary, prepared.bytes);
    await fs.rename(temporary, destination);
    const summary = {
      output: destination,
      model: model.descriptor.name,
      target,
      precision: prepared.precision,
      ...(prepared.activations ? { activations: prepared.activations } : {}),
      cuts,
      input: prepared.inputName,
      outputs: prepared.outputs,
      bytes: prepared.bytes.byteLength,
      nodes: coverage.nodes,
      nodesWithoutCudaKernel: coverage.missing,
    };
    if (!ctx.json) {
      process.stdout.write(
        `${target} graph of ${summary.model} (${summary.precision}${prepared.activations ? `, activations ${prepared.activations}` : ''}, cut points ${cuts.join(', ')}): ${destination} (${(summary.bytes / 1e6).toFixed(1)} MB)\n`,
      );
      const onGpu = coverage.nodes - coverage.missing.length;
      process.stdout.write(
        `CUDA kernels for ${onGpu} of ${coverage.nodes} nodes${coverage.missing.length ? `; on the CPU: ${[...new Set(coverage.missing.map((m) => m.op))].join(', ')}` : ''}\n`,
      );
    }
    return summary;
  },
};

export const PREPARE_COMMANDS: CliCommand[] = [prepareCommand];
