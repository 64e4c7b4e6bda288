import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { HYMENOPTERA, REPO_ROOT, requireShared } from './paths.js';

export const BIN = path.join(REPO_ROOT, 'bin', 'cnn-codes.js');
const PREFIX = 'cnn-codes-e2e-run-';

/** Runs the real binary; --json output parsed, stderr kept for assertion messages. */
export function cli(args: string[]): { status: number | null; json: any; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, CNN_CODES_SHARED: path.dirname(path.dirname(HYMENOPTERA)) },
  });
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { status: r.status, json, stdout: r.stdout, stderr: r.stderr };
}

/**
 * One `cnn-codes run --layer auto` on hymenoptera per `node --test` invocation, shared by the e2e tests that only read
 * its outputs (report, export): extraction dominates their cost, and every test file runs in its own process. The
 * folder is keyed by the runner's pid; the first test to arrive runs it (mkdir is the lock), the others wait for it.
 */
export async function sharedHymenopteraRun(): Promise<string> {
  requireShared();
  await removeFoldersOfFinishedRunners();
  const dir = path.join(tmpdir(), `${PREFIX}${process.ppid}`);
  const done = path.join(dir, 'run-result.json');
  const failed = path.join(dir, 'run-failed.txt');
  try {
    await mkdir(dir);
  } catch {
    for (let waited = 0; waited < 300_000; waited += 250) {
      if (existsSync(done)) return dir;
      if (existsSync(failed)) throw new Error(`the shared hymenoptera run failed: ${await readFile(failed, 'utf8')}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`timed out waiting for the shared hymenoptera run in ${dir}`);
  }
  const run = cli(['run', '--data', HYMENOPTERA, '--out', dir, '--layer', 'auto', '--json']);
  if (run.status !== 0) {
    await writeFile(failed, run.stderr || `exit ${run.status}`);
    throw new Error(`cnn-codes run failed: ${run.stderr}`);
  }
  await writeFile(done, run.stdout);
  return dir;
}

export async function sharedRunResult(dir: string): Promise<any> {
  return JSON.parse(await readFile(path.join(dir, 'run-result.json'), 'utf8'));
}

async function removeFoldersOfFinishedRunners(): Promise<void> {
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length));
    if (pid === process.ppid || isAlive(pid)) continue;
    await rm(path.join(tmpdir(), name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
