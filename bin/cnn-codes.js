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
