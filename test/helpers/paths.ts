import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (tests run from dist/test/…, two or three levels down). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** `../shared` beside the repository unless CNN_CODES_SHARED says otherwise: the one configurable location. */
export const SHARED = path.resolve(process.env.CNN_CODES_SHARED ?? path.join(REPO_ROOT, '..', 'shared'));
export const MODELS_DIR = path.join(SHARED, 'models');
export const HYMENOPTERA = path.join(SHARED, 'data', 'hymenoptera_data');

export function requireShared(): void {
  if (!existsSync(MODELS_DIR) || !existsSync(HYMENOPTERA)) {
    throw new Error(`shared models/data not found at ${SHARED}; set CNN_CODES_SHARED`);
  }
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>, prefix = 'cnn-codes-test-'): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The project's Python (scripts/setup-python.sh makes it): numpy, torch, torchvision, onnxruntime. */
export const PYTHON = existsSync(path.join(REPO_ROOT, '.venv', 'bin', 'python'))
  ? path.join(REPO_ROOT, '.venv', 'bin', 'python')
  : 'python3';
