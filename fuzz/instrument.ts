import { createRequire, registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Coverage instrumentation for the fuzzer: every module under `dist/core/` is rewritten as it loads with Jazzer.js's
 * own Babel plugins (@jazzer.js/instrumentor: an edge counter at every branch, and comparison tracing that hands the
 * operands of `===` against literals to the mutator's dictionary). The engine that reads the counters is ours
 * (fuzz/engine.ts): Jazzer.js 4.0's libFuzzer addon is built against glibc 2.38 and does not load on Debian 12
 * (2.36), so the instrumentation is Jazzer's and the search loop is a small libFuzzer-style one in JavaScript.
 */

export const EDGES = 1 << 18;

/** Hit counts per edge of the run in progress, and the edges it touched (so resetting costs what the run touched). */
export const counters = new Uint32Array(EDGES);
export const touched = new Uint32Array(EDGES);
export const state = { touchedCount: 0, nextEdge: 1 };

/** Literals and numbers the code compared input-derived values with: dictionary entries for the mutator. */
export const dictionary = new Set<string>();
const DICTIONARY_LIMIT = 4096;

function noteOperand(value: unknown): void {
  if (dictionary.size >= DICTIONARY_LIMIT) return;
  if (typeof value === 'string' && value.length > 0 && value.length <= 64) dictionary.add(`s:${value}`);
  else if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 2 ** 32)
    dictionary.add(`n:${value}`);
}

const fuzzerGlobal = {
  coverageTracker: {
    incrementCounter(id: number): void {
      const slot = id & (EDGES - 1);
      if (counters[slot]!++ === 0) touched[state.touchedCount++] = slot;
    },
  },
  tracer: {
    traceStrCmp(a: unknown, b: unknown, op: string): boolean {
      noteOperand(a);
      noteOperand(b);
      return compare(a, b, op);
    },
    traceNumberCmp(a: number, b: number, op: string): boolean {
      noteOperand(a);
      noteOperand(b);
      return compare(a, b, op);
    },
    traceAndReturn(discriminant: unknown, test: unknown): unknown {
      noteOperand(test);
      return test;
    },
  },
};

/** The comparison the plugin replaced by a call, evaluated as written. */
function compare(a: unknown, b: unknown, op: string): boolean {
  const [x, y] = [a as number, b as number];
  switch (op) {
    case '==':
      return a == b;
    case '!=':
      return a != b;
    case '===':
      return a === b;
    case '!==':
      return a !== b;
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    default:
      return x >= y;
  }
}

interface Babel {
  transformSync(code: string, options: object): { code?: string | null } | null;
}

/** Installs the load hook; call before importing the targets. `under` is the folder whose modules are instrumented. */
export function instrumentModulesUnder(under: string): void {
  (globalThis as unknown as { Fuzzer: typeof fuzzerGlobal }).Fuzzer = fuzzerGlobal;
  const require = createRequire(import.meta.url);
  const instrumentor = createRequire(require.resolve('@jazzer.js/instrumentor'));
  const babel = instrumentor('@babel/core') as Babel;
  const { codeCoverage } = instrumentor('./plugins/codeCoverage.js') as {
    codeCoverage(ids: { nextEdgeId(): number }): unknown;
  };
  const { compareHooks } = instrumentor('./plugins/compareHooks.js') as { compareHooks(): unknown };
  const ids = { nextEdgeId: () => state.nextEdge++ };
  registerHooks({
    load(url, context, nextLoad) {
      const result = nextLoad(url, context);
      if (!url.startsWith('file:') || !fileURLToPath(url).startsWith(under) || !url.endsWith('.js')) return result;
      const source =
        typeof result.source === 'string' ? result.source : Buffer.from(result.source as Uint8Array).toString('utf8');
      const out = babel.transformSync(source, {
        filename: fileURLToPath(url),
        sourceType: 'module',
        babelrc: false,
        configFile: false,
        compact: false,
        plugins: [codeCoverage(ids), compareHooks],
      });
      return { ...result, source: out?.code ?? source };
    },
  });
}
