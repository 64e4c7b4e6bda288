import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.js';

/**
 * The real `cdk synth` from cdk.json, as CI and a user run it, kept offline: no credentials, proxies pointing at a
 * closed port, and a `docker` that records being called (CDK_DOCKER). `--build true` skips cdk.json's tsc step
 * because the tests already run from the compiled tree.
 */
const work = mkdtempSync(path.join(tmpdir(), 'cnn-codes-synth-'));
const out = path.join(work, 'cdk.out');
const dockerCalls = path.join(work, 'docker-called');
let result: ReturnType<typeof spawnSync>;

interface AssetManifest {
  files: Record<string, { source: { path: string; packaging: string } }>;
  dockerImages: Record<string, { source: { directory: string; dockerFile?: string } }>;
}
interface TemplateResource {
  Type: string;
  Metadata?: Record<string, unknown>;
  Properties?: { PackageType?: string };
}

before(() => {
  const fakeDocker = path.join(work, 'docker');
  writeFileSync(fakeDocker, `#!/bin/sh\necho "$@" >> '${dockerCalls}'\nexit 1\n`);
  chmodSync(fakeDocker, 0o755);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|CDK_)/.test(k)) env[k] = v;
  Object.assign(env, {
    CDK_DOCKER: fakeDocker,
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    AWS_EC2_METADATA_DISABLED: 'true',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    HTTP_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '',
  });
  result = spawnSync(
    path.join(REPO_ROOT, 'node_modules', '.bin', 'cdk'),
    [
      'synth',
      '--build',
      'true',
      '--output',
      out,
      '--no-notices',
      '--no-version-reporting',
      '--lookups',
      'false',
      '--ci',
      '--quiet',
    ],
    { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 240_000 },
  );
});

after(() => rmSync(work, { recursive: true, force: true }));

const stackTemplate = () =>
  JSON.parse(readFileSync(path.join(out, 'CnnCodes.template.json'), 'utf8')) as {
    Resources: Record<string, TemplateResource>;
  };
const assetPathOf = (logicalIdPrefix: string) => {
  const [, fn] = Object.entries(stackTemplate().Resources).find(
    ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith(logicalIdPrefix),
  )!;
  return path.join(out, fn.Metadata!['aws:asset:path'] as string);
};

test('cdk synth succeeds offline, with cdk-nag passing, without running Docker', () => {
  assert.equal(result.error, undefined, String(result.error));
  assert.equal(result.status, 0, `cdk synth failed:\n${String(result.stderr).slice(-4000)}`);
  assert.equal(
    existsSync(dockerCalls),
    false,
    `docker was called: ${existsSync(dockerCalls) ? readFileSync(dockerCalls, 'utf8') : ''}`,
  );
  const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string }>;
  };
  assert.equal(manifest.artifacts.CnnCodes?.type, 'aws:cloudformation:stack');
  const acknowledged = Object.values(stackTemplate().Resources).flatMap(
    (r) =>
      (r.Metadata as { cdk_nag?: { rules_to_suppress: Array<{ id: string; reason: string }> } } | undefined)?.cdk_nag
        ?.rules_to_suppress ?? [],
  );
  assert.ok(
    acknowledged.length > 0 && acknowledged.every((rule) => rule.reason.length > 0),
    'the app registers cdk-nag and its acknowledgements reach the template',
  );
});

test('the two container images are staged for a deploy-time build, with their Dockerfiles', () => {
  const assets = JSON.parse(readFileSync(path.join(out, 'CnnCodes.assets.json'), 'utf8')) as AssetManifest;
  const images = Object.values(assets.dockerImages);
  assert.equal(images.length, 2);
  for (const image of images) {
    const context = path.join(out, image.source.directory);
    assert.ok(
      existsSync(path.join(context, image.source.dockerFile ?? 'Dockerfile')),
      `${image.source.directory} lacks its Dockerfile`,
    );
    for (const heavy of ['node_modules', '.git', 'dist', 'cdk.out', '.venv'])
      assert.equal(existsSync(path.join(context, heavy)), false, `${heavy} in ${context}`);
  }
});

test('the bundled heads load in a folder with no node_modules, as in Lambda', () => {
  for (const fn of ['HeadsTrainHead', 'HeadsEvaluate']) {
    const bundle = path.join(assetPathOf(fn), 'index.mjs');
    const isolated = mkdtempSync(path.join(tmpdir(), `cnn-codes-${fn}-`));
    try {
      copyFileSync(bundle, path.join(isolated, 'index.mjs'));
      const loaded = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          "const m = await import('./index.mjs'); if (typeof m.handler !== 'function') process.exit(3);",
        ],
        {
          cwd: isolated,
          encoding: 'utf8',
          timeout: 30_000,
        },
      );
      // The first line naming an Error, not the minified source line Node prints above it.
      const reason =
        loaded.stderr.split('\n').find((line) => /Error|Cannot|Could not/.test(line) && line.length < 500) ??
        loaded.stderr.slice(-800);
      assert.equal(loaded.status, 0, `${fn} bundle does not load: ${reason}`);
    } finally {
      rmSync(isolated, { recursive: true, force: true });
    }
  }
});

test('the dispatcher bundle leaves only the AWS SDK to the Lambda runtime', () => {
  const code = readFileSync(path.join(assetPathOf('DispatcherDispatch'), 'index.mjs'), 'utf8');
  const bare = [...code.matchAll(/(?:from\s*|import\s*\(\s*)["']([^"'./][^"']*)["']/g)].map((m) => m[1]!);
  const unexpected = bare.filter((spec) => !spec.startsWith('node:') && !spec.startsWith('@aws-sdk/'));
  assert.deepEqual(unexpected, []);
  assert.ok(bare.includes('@aws-sdk/client-batch'));
});
