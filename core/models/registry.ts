import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ChecksumError, ConfigError, ModelError, errorMessage } from '../errors.js';
import { BUILTIN_MODELS } from './builtin.js';
import { parseDescriptor, type ModelDescriptor } from './descriptor.js';
import { downloadVerified, type DownloadProgress } from './download.js';

/** A descriptor together with the folder its relative `file` is resolved against first. */
export interface RegisteredModel {
  descriptor: ModelDescriptor;
  /** Folder of a user/fine-tuned descriptor file; undefined for built-ins. */
  home?: string;
}

export interface ModelSources {
  /** Folders searched for `<name>/<file>`, `<file>`, and user descriptors `<name>/<name>.json`, in order. */
  modelsDirs: string[];
  /** Per-user download cache: `<cacheDir>/<sha256>/<file>`. */
  cacheDir?: string;
  allowDownload: boolean;
  onDownload?: (progress: DownloadProgress) => void;
}

export interface ResolvedModel {
  descriptor: ModelDescriptor;
  path: string;
  /** How it was found, for logs: 'path' | 'models-dir' | 'cache' | 'download'. */
  source: 'path' | 'models-dir' | 'cache' | 'download';
}

/**
 * Names → descriptors. Built-ins are always present; a user adds one with a small JSON descriptor file (the
 * fine-tune job writes exactly that), either explicitly or by dropping `<name>/<name>.json` into a models folder.
 */
export class ModelRegistry {
  private readonly models = new Map<string, RegisteredModel>();

  constructor(builtins: readonly ModelDescriptor[] = BUILTIN_MODELS) {
    for (const d of builtins) this.models.set(d.name, { descriptor: d });
  }

  register(descriptor: ModelDescriptor, home?: string): void {
    this.models.set(descriptor.name, home === undefined ? { descriptor } : { descriptor, home });
  }

  async registerFile(descriptorPath: string): Promise<ModelDescriptor> {
    let text: string;
    try {
      text = await fs.readFile(descriptorPath, 'utf8');
    } catch (err) {
      throw new ModelError(`cannot read model descriptor ${descriptorPath}: ${errorMessage(err)}`, { cause: err });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`${descriptorPath}: not valid JSON (${errorMessage(err)})`, { cause: err });
    }
    const descriptor = parseDescriptor(json, descriptorPath);
    this.register(descriptor, path.dirname(path.resolve(descriptorPath)));
    return descriptor;
  }

  names(): string[] {
    return [...this.models.keys()].sort();
  }

  /**
   * Finds a model by name, or by a path to a descriptor `.json`. Looks in the models folders for user descriptors
   * before giving up, so a fine-tuned backbone is usable by name as soon as its folder is there.
   */
  async lookup(nameOrPath: string, modelsDirs: readonly string[] = []): Promise<RegisteredModel> {
    if (nameOrPath.endsWith('.json')) {
      const descriptor = await this.registerFile(nameOrPath);
      return this.models.get(descriptor.name)!;
    }
    const known = this.models.get(nameOrPath);
    if (known) return known;
    for (const dir of modelsDirs) {
      for (const candidate of [
        path.join(dir, nameOrPath, `${nameOrPath}.json`),
        path.join(dir, `${nameOrPath}.json`),
      ]) {
        if (await isFile(candidate)) {
          await this.registerFile(candidate);
          return (
            this.models.get(nameOrPath) ?? failUnknown(nameOrPath, this.names(), `${candidate} names another model`)
          );
        }
      }
    }
    return failUnknown(nameOrPath, this.names());
  }
}

function failUnknown(name: string, known: string[], detail?: string): never {
  throw new ModelError(
    `unknown model "${name}"${detail ? ` (${detail})` : ''}. Known models: ${known.join(', ')}. ` +
      'Register another with a descriptor: --model path/to/descriptor.json',
  );
}

/**
 * Finds the model's bytes: the descriptor's own folder, then each models folder, then the user cache, then a
 * download. Whatever is found must have the descriptor's sha256: a wrong file would silently give wrong codes.
 */
export async function resolveModelFile(model: RegisteredModel, sources: ModelSources): Promise<ResolvedModel> {
  const { descriptor } = model;
  const local: Array<[string, ResolvedModel['source']]> = [];
  if (model.home) local.push([path.join(model.home, descriptor.file), 'path']);
  for (const dir of sources.modelsDirs) {
    local.push(
      [path.join(dir, descriptor.name, descriptor.file), 'models-dir'],
      [path.join(dir, descriptor.file), 'models-dir'],
    );
  }
  const cached = sources.cacheDir ? path.join(sources.cacheDir, descriptor.sha256, descriptor.file) : undefined;
  if (cached) local.push([cached, 'cache']);

  for (const [candidate, source] of local) {
    if (!(await isFile(candidate))) continue;
    const actual = await sha256File(candidate);
    if (actual !== descriptor.sha256) throw new ChecksumError(candidate, descriptor.sha256, actual);
    return { descriptor, path: candidate, source };
  }

  const searched = local.map(([p]) => p).join(', ') || '(no folders configured)';
  if (!descriptor.url) {
    throw new ModelError(
      `model file ${descriptor.file} for "${descriptor.name}" not found (searched ${searched}) and it has no download URL`,
    );
  }
  if (!sources.allowDownload || !cached) {
    throw new ModelError(
      `model file ${descriptor.file} for "${descriptor.name}" not found (searched ${searched}); ` +
        `download it from ${descriptor.url}${cached ? ' or allow downloads' : ' into a models folder'}`,
    );
  }
  await downloadVerified(descriptor.url, cached, descriptor.sha256, sources.onDownload);
  return { descriptor, path: cached, source: 'download' };
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}
