#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (scripts/setup.sh runs it).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('cnn-codes: not built yet; run "npm run build" (or scripts/setup.sh) in the package folder\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
// A failed command has printed its error: whatever handle is still open (a worker thread, a socket) must not keep the
// process alive. The timer is unref'd, so a process that ends on its own ends as soon as it can.
if (process.exitCode !== 0) globalThis.setTimeout(() => process.exit(process.exitCode), 1000).unref();
