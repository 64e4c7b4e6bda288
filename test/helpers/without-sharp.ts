import { register } from 'node:module';

/**
 * `node --import .../without-sharp.js`: the process cannot resolve `sharp`, as in a Lambda bundle that carries no
 * native modules, so tests can drive the code paths that must work without an image library.
 */
register('./without-sharp-hooks.js', import.meta.url);
