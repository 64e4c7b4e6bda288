import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { REPO_ROOT } from './paths.js';

/** A moto_server child process on a free loopback port: real HTTP S3 and SQS for one test file. */
export interface MotoServer {
  endpoint: string;
  /** Request lines from moto's log ("PUT /bucket/key HTTP/1.1" 200) since the server started. */
  requests(): string[];
  stop(): Promise<void>;
}

export function requireMotoServer(): void {
  const probe = spawnSync('moto_server', ['--help'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'moto_server is not on PATH: install moto with its server extras (pip install "moto[server]"), see docs/serverless.md',
    );
  }
}

export interface MotoOptions {
  /**
   * Serve through scripts/moto_iam_server.py (moto with signatures checked on the URI as sent), ready for IAM to be
   * enforced (test/helpers/iam.ts). Without it, moto checks no IAM and any keys do.
   */
  iam?: boolean;
}

export async function startMoto(options: MotoOptions = {}): Promise<MotoServer> {
  requireMotoServer();
  // The SDK's notice that its 2027 releases need Node 22 would otherwise interleave with every test report.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const port = await freePort();
  // Through a shell that stops moto when its stdin closes: that happens on stop() and also when this test process
  // dies of a signal or a timeout, which no exit handler would see.
  // Always through scripts/moto_iam_server.py, on moto's own interpreter (the moto_server script's, found as .ci/run
  // finds it): besides IAM it fixes moto's StartExecution, which fails from a state machine's second execution on.
  // Without `iam`, nothing is enforced (no /moto-api/reset-auth) and any keys do.
  void options.iam;
  const server = `py=$(head -n 1 "$(pyenv which moto_server 2>/dev/null || command -v moto_server)" | sed -n 's/^#!//p'); $py '${path.join(REPO_ROOT, 'scripts', 'moto_iam_server.py')}'`;
  const script = `${server} -H 127.0.0.1 -p ${port} & moto=$!; read _ignored; kill $moto; wait $moto`;
  const child: ChildProcess = spawn('sh', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer): void => {
    const text = partial + chunk.toString('utf8');
    const split = text.split('\n');
    partial = split.pop() ?? '';
    for (const line of split) if (line.includes('HTTP/1.1"')) lines.push(line);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntilAnswering(endpoint, child);
  return {
    endpoint,
    requests: () => [...lines],
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin!.end();
      }),
  };
}

/** Environment for a child process talking to this moto (dummy keys, both endpoints, quiet SDK). */
export function motoEnv(endpoint: string): NodeJS.ProcessEnv {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

async function waitUntilAnswering(endpoint: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode} before answering`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.stdin!.end();
  throw new Error(`moto_server did not answer at ${endpoint} within 30 s`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
