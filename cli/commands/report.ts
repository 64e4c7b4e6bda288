import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FsBlobStore } from '../../core/adapters/fs-blob-store.js';
import { readImageFile } from '../../core/adapters/regular-file.js';
import { SqliteManifestIndex } from '../../core/adapters/sqlite-manifest-index.js';
import { ConfigError, DataError } from '../../core/errors.js';
import type { Manifest } from '../../core/features/manifest.js';
import { resolveModelFile } from '../../core/models/registry.js';
import { predictWithClassifier, type PredictResult } from '../../core/use-cases/predict.js';
import { writeHtmlReport } from '../../core/use-cases/report.js';
import { readManifest } from '../../core/workspace/manifest-store.js';
import { HEAD_KEY } from '../../core/workspace/keys.js';
import { choiceFlag, stringFlag } from '../args.js';
import type { CliCommand, CommandContext } from '../command.js';
import { localDeps, STAMP_INDEX_FILE } from '../local-deps.js';
import { readHeadFile } from './head-file.js';

const say = (line: string): void => void process.stdout.write(`${line}\n`);

const reportCommand: CliCommand = {
  name: 'report',
  summary: 'write report.html (self-contained: charts, thumbnails, costs) from a workspace  (--out required)',
  options: { out: { type: 'string' }, data: { type: 'string' } },
  usage: 'report --out DIR [--data DIR]',
  example: 'cnn-codes report --out cnn-codes-out/hymenoptera --data ../shared/data/hymenoptera_data',
  flagDocs: {
    out: { arg: 'DIR', text: 'the workspace run/evaluate wrote (required)' },
    data: { arg: 'DIR', text: 'the dataset, for thumbnails of misclassified images (default: the folder run used)' },
  },
  async run(values, _positionals, ctx) {
    const out = requireOut(values.out, 'report');
    const workspace = new FsBlobStore(out);
    const manifestIndex = new SqliteManifestIndex(path.join(out, STAMP_INDEX_FILE));
    const dataDir = stringFlag(values, 'data') ?? localDatasetOf(await readManifest(workspace, manifestIndex));
    if (dataDir && !(await fs.stat(dataDir).catch(() => undefined))?.isDirectory())
      throw new DataError(`data folder not found: ${dataDir}`);
    const written = await writeHtmlReport({
      workspace,
      manifestIndex,
      ...(dataDir ? { data: new FsBlobStore(dataDir) } : {}),
    });
    const file = path.join(out, written.key);
    if (!ctx.json) say(`report: ${file} (${(written.bytes / 1024).toFixed(0)} kB, ${written.thumbnails} thumbnails)`);
    return { report: file, ...written };
  },
};

const exportCommand: CliCommand = {
  name: 'export',
  summary: 'write one ONNX classifier (backbone to the cut point + pooling + head + softmax, class names inside)',
  usage: 'export (--out DIR | --head FILE) [--output FILE] [--input rgb|float]',
  example: 'cnn-codes export --out cnn-codes-out/hymenoptera --output classifier.onnx',
  flagDocs: {
    out: { arg: 'DIR', text: 'the workspace whose head.json to export' },
    head: { arg: 'FILE', text: 'head to export (default: <out>/head.json)' },
  },
  options: {
    out: { type: 'string' },
    head: { type: 'string' },
    output: { type: 'string' },
    input: { type: 'string' },
    'models-dir': { type: 'string', multiple: true },
    'allow-download': { type: 'boolean', default: false },
  },
  async run(values, _positionals, ctx) {
    const headFlag = stringFlag(values, 'head');
    if (!headFlag && values.out === undefined) throw new ConfigError('export: --out DIR (or --head FILE) is required');
    const out = path.resolve(stringFlag(values, 'out') ?? path.dirname(headFlag!));
    const deps = localDeps(ctx.env, {
      out,
      modelsDirs: (values['models-dir'] as string[] | undefined) ?? [],
      allowDownload: values['allow-download'] === true,
    });
    const headPath = path.resolve(headFlag ?? path.join(out, HEAD_KEY));
    const head = await readHeadFile(headPath);
    const model = await deps.registry.lookup(head.model.name, deps.modelsDirs);
    const input = choiceFlag(values, 'input', ['rgb', 'float'] as const) ?? 'rgb';
    // onnxruntime, sharp and the ONNX protobuf code load only for the commands that use them: a cached `run` starts faster.
    const { exportClassifier } = await import('../../core/use-cases/export.js');
    const exported = await exportClassifier(
      {
        readModel: async (m) =>
          fs.readFile(
            (
              await resolveModelFile(m, {
                modelsDirs: deps.modelsDirs,
                cacheDir: ctx.env.modelCacheDir,
                allowDownload: values['allow-download'] === true,
              })
            ).path,
          ),
      },
      { head, model, input },
    );
    const target = path.resolve(stringFlag(values, 'output') ?? path.join(out, 'classifier.onnx'));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, exported.bytes);
    const s = exported.summary;
    if (!ctx.json) {
      say(
        `classifier: ${target} (${(s.bytes / 1e6).toFixed(1)} MB): ${s.model} → ${s.layer} → ${s.head} (C = ${s.C}) → softmax over ${s.classes.join(', ')}`,
      );
      say(
        s.input === 'rgb'
          ? 'input "image": uint8 [N, H, W, 3] RGB crops (normalization is in the graph); outputs "probabilities", "label"'
          : 'input "image": the backbone\'s normalized float tensor; outputs "probabilities", "label"',
      );
      say(`decode: ${s.decode} (the JPEG decode the head was trained with, named in the file's metadata)`);
    }
    return { classifier: target, ...s };
  },
};

function requireOut(value: unknown, command: string): string {
  if (typeof value !== 'string')
    throw new ConfigError(`${command}: --out DIR is required (the workspace that run/evaluate wrote)`);
  return path.resolve(value);
}

/** The local folder the manifest was extracted from (whether it still exists there is the caller's to check). */
export function localDatasetOf(manifest: Pick<Manifest, 'dataset'>): string | undefined {
  return manifest.dataset.startsWith('file://') ? fileURLToPath(manifest.dataset) : undefined;
}

export const REPORT_COMMANDS: CliCommand[] = [reportCommand, exportCommand];

/** predict --model classifier.onnx: the exported file alone, no workspace, head or model registry. */
export async function predictWithClassifierFile(
  file: string,
  images: string[],
  topK: number,
  ctx: CommandContext,
): Promise<PredictResult[]> {
  const bytes = await fs.readFile(path.resolve(file)).catch(() => {
    throw new DataError(`cannot read classifier ${file}`);
  });
  const { OnnxClassifier } = await import('../../core/backbone/onnx-classifier.js');
  const results = await predictWithClassifier(
    { openClassifier: () => OnnxClassifier.create(bytes, file), onProgress: ctx.progress },
    images.map((image) => ({ key: image, read: () => readImageFile(image) })),
    topK,
  );
  ctx.progress.end();
  return results;
}
