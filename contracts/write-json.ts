// `npm run contracts`: writes contracts/cross-process.json from cross-process.ts (run from the compiled dist/).
import { writeFileSync } from 'node:fs';
import { crossProcessJson } from './cross-process.js';

const target = new URL('../../contracts/cross-process.json', import.meta.url);
writeFileSync(target, crossProcessJson());
process.stdout.write(`wrote ${target.pathname}\n`);
