import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ChecksumError, ConfigError, ModelError, errorMessage } from '../errors.js';
import { BUILTIN_MODELS } from './builtin.js';
import { parseDescriptor, type ModelDescriptor } from './descriptor.js';
import { downloadVerified, type DownloadProgress } from './download.js';
import { readJsonFile } from '../adapters/regular-file.js';

/** Descriptors are a few hundred bytes; a megabyte is not one. */
const DESCRIPTOR_LIMIT = 2 ** 20;

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
    let json: unknown;
    try {
      // Never echoes the file: a descriptor that is a symlink to /etc/passwd printed its first line.
      json = await readJsonFile(descriptorPath, DESCRIPTOR_LIMIT, 'model descriptor');
    } catch (err) {
      throw new ConfigError(errorMessage(err), { cause: err });
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
  // Each candidate with the folder it must stay in (parseDescriptor already refuses ".." and absolute paths).
  const local: Array<[string, ResolvedModel['source'], string]> = [];
  if (model.home) local.push([path.join(model.home, descriptor.file), 'path', model.home]);
  for (const dir of sources.modelsDirs) {
    local.push(
      [path.join(dir, descriptor.name, descriptor.file), 'models-dir', dir],
      [path.join(dir, descriptor.file), 'models-dir', dir],
    );
  }
  const cached = sources.cacheDir ? path.join(sources.cacheDir, descriptor.sha256, descriptor.file) : undefined;
  if (cached) local.push([cached, 'cache', sources.cacheDir!]);

  for (const [candidate, source, folder] of local) {
    if (!(await isFile(candidate))) continue;
    await requireInside(candidate, folder);
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

/** A symlink in a models folder may point within it, not out of it (to /etc/passwd, say, whose hash would be shown). */
async function requireInside(candidate: string, folder: string): Promise<void> {
  const [real, base] = await Promise.all([fs.realpath(candidate), fs.realpath(folder)]);
  if (real !== base && !real.startsWith(base + path.sep))
    throw new ModelError(`model file ${candidate} is a link that leaves its folder ${folder}: refused`);
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}
