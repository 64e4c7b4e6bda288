import { execFile } from 'node:child_process';
import { chmod, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { REPO_ROOT } from './paths.js';

/** Permission bits mean nothing to root, and CI runs as root: checks of EACCES handling run as nobody there. */
export const RUNS_AS_ROOT = process.getuid?.() === 0;

/** nobody/nogroup on Debian, Ubuntu and Alpine alike. */
export const NOBODY = 65534;

/**
 * Makes `dir` (a test's temp folder; symbolic links are not followed) nobody's, so that its permission bits bind nobody
 * as they bind the user who runs the tests unprivileged. Only as root.
 */
export async function giveToNobody(dir: string): Promise<void> {
  await promisify(execFile)('chown', ['-R', '-h', `${NOBODY}:${NOBODY}`, dir]);
}

/**
 * Runs an ES module as nobody (setpriv, no supplementary groups) and returns what it wrote to stdout, parsed as JSON.
 * `source` gets the file URL of a copy of dist/core that nobody can read whatever the checkout's permissions (and nobody
 * runs a copy of node), and imports the compiled modules from it (`${core}/dataset/image-folder.js`). Only as root. A
 * child that fails (not started, import refused, an exception) rejects with its stderr: never a silently skipped check.
 */
export async function runAsNobody(source: (core: string) => string): Promise<unknown> {
  if (!RUNS_AS_ROOT) throw new Error('runAsNobody needs root (setpriv changes the user)');
  const copy = await mkdtemp(path.join(tmpdir(), 'cnn-codes-as-nobody-'));
  try {
    await cp(path.join(REPO_ROOT, 'dist', 'core'), path.join(copy, 'core'), {
      recursive: true,
      filter: (f) => !f.endsWith('.map'),
    });
    // The test's node may live where nobody cannot reach it (a clone under /root): nobody runs a copy of it.
    const nodeCopy = path.join(copy, 'node');
    await cp(process.execPath, nodeCopy);
    await chmod(nodeCopy, 0o755);
    await chmod(copy, 0o755);
    const core = pathToFileURL(path.join(copy, 'core')).href;
    const args = ['--reuid', `${NOBODY}`, '--regid', `${NOBODY}`, '--clear-groups'];
    const node = [nodeCopy, '--input-type=module', '--eval', source(core)];
    try {
      const { stdout } = await promisify(execFile)('setpriv', [...args, ...node], {
        cwd: copy,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        timeout: 60_000,
        maxBuffer: 64 << 20,
      });
      return JSON.parse(stdout) as unknown;
    } catch (e) {
      const stderr = (e as { stderr?: string }).stderr ?? '';
      throw new Error(`as nobody: ${stderr || String(e)}`, { cause: e });
    }
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}
