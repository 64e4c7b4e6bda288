import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { counters, dictionary, state, touched } from './instrument.js';

/** One fuzz target: `run` returns normally or throws one of the errors `expected` accepts; anything else is a crash. */
export interface FuzzTarget {
  name: string;
  /** Inputs longer than this are cut: the parsers' hostile cases are in the headers, not in megabytes of data. */
  maxLength: number;
  run(data: Uint8Array): void;
  expected(err: unknown): boolean;
  /** Seeds written in code (valid files and the hostile ones); the committed corpus adds to them. */
  seeds(): Uint8Array[];
}

export interface CampaignOptions {
  runs: number;
  seconds: number;
  /** Per input: a run slower than this is a finding (a hang is caught by the watchdog at 2× this and killed). */
  timeBudgetMs: number;
  /**
   * Checked every 1,024 runs; a finding above it: resident memory grown within those runs (after a collection).
   */
  rssBudgetBytes: number;
  corpusDir: string;
  findingsDir: string;
  seed: number;
  /** Only replay the corpus and seeds. */
  replayOnly: boolean;
}

export interface CampaignResult {
  target: string;
  executions: number;
  seconds: number;
  corpus: number;
  edges: number;
  findings: { kind: 'crash' | 'slow' | 'over-memory'; file: string; detail: string }[];
  peakRssMiB: number;
  startRssMiB: number;
  slowestMs: number;
}

const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const control = new Int32Array(workerData.control);
const input = new Uint8Array(workerData.input);
let lastSeq = -1, since = Date.now();
setInterval(() => {
  const seq = Atomics.load(control, 0), busy = Atomics.load(control, 1);
  if (seq !== lastSeq || !busy) { lastSeq = seq; since = Date.now(); return; }
  if (Date.now() - since > workerData.limitMs) {
    const file = workerData.findingsDir + '/hang-' + seq;
    fs.mkdirSync(workerData.findingsDir, { recursive: true });
    fs.writeFileSync(file, input.subarray(0, Atomics.load(control, 2)));
    fs.writeSync(2, 'fuzz: HANG in ' + workerData.target + ', input saved to ' + file + '\\n');
    process.kill(process.pid, 'SIGKILL');
  }
}, 100).unref?.();
`;

/** A libFuzzer-style loop: mutate a corpus entry, run it, keep it when it reaches a new (edge, hit-count bucket). */
export function runCampaign(target: FuzzTarget, options: CampaignOptions): CampaignResult {
  const random = xorshift(options.seed);
  const virgin = new Uint8Array(counters.length);
  const corpus: Uint8Array[] = [];
  const findings: CampaignResult['findings'] = [];
  const control = new SharedArrayBuffer(12);
  const controlView = new Int32Array(control);
  const shared = new SharedArrayBuffer(target.maxLength);
  const sharedInput = new Uint8Array(shared);
  const watchdog = new Worker(WATCHDOG, {
    eval: true,
    workerData: {
      control,
      input: shared,
      limitMs: Math.max(2 * options.timeBudgetMs, 1000),
      findingsDir: path.join(options.findingsDir, target.name),
      target: target.name,
    },
  });
  watchdog.unref();
  let executions = 0;
  const collect = (globalThis as { gc?: () => void }).gc;
  collect?.();
  const baseline = process.memoryUsage.rss();
  // RSS at the previous check (every 1,024 inputs), after any collection: an input that allocates beyond the budget
  // shows as a jump from it, since the allocator keeps the pages it grew by.
  let checkedRss = baseline;
  let peakRss = baseline;
  let slowestMs = 0;

  const save = (kind: CampaignResult['findings'][number]['kind'], data: Uint8Array, detail: string) => {
    const dir = path.join(options.findingsDir, target.name);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${kind}-${sha1(data)}`);
    writeFileSync(file, data);
    if (findings.length < 100) findings.push({ kind, file, detail: detail.slice(0, 400) });
  };

  /** Runs one input; true when it reached something new. */
  const execute = (data: Uint8Array): boolean => {
    sharedInput.set(data.subarray(0, target.maxLength));
    Atomics.store(controlView, 2, Math.min(data.length, target.maxLength));
    Atomics.store(controlView, 0, executions);
    Atomics.store(controlView, 1, 1);
    const started = performance.now();
    try {
      target.run(data);
    } catch (err) {
      if (!target.expected(err)) save('crash', data, err instanceof Error ? (err.stack ?? err.message) : String(err));
    }
    const ms = performance.now() - started;
    Atomics.store(controlView, 1, 0);
    executions++;
    if (ms > slowestMs) slowestMs = ms;
    if (ms > options.timeBudgetMs) save('slow', data, `${ms.toFixed(0)} ms`);
    if ((executions & 1023) === 0) {
      // The budget is per input: RSS grown within the last 1,024 inputs is an input that allocated too much (the
      // allocator keeps the pages it grew by). The campaign's RSS as a whole is not: over half a million inputs the
      // allocator's retained pages crept past 256 MiB with every input's own cost under 1 MiB (CI, head-json), and that
      // was reported against whichever input came next. (V8's heapUsed + external is no measure of live memory here:
      // a WebAssembly memory's 16 GiB reservation counts in external.)
      let rss = process.memoryUsage.rss();
      if (rss > checkedRss + options.rssBudgetBytes && collect) {
        // Garbage is not growth: collect before calling it a finding (node --expose-gc).
        collect();
        rss = process.memoryUsage.rss();
      }
      peakRss = Math.max(peakRss, rss);
      if (rss > checkedRss + options.rssBudgetBytes)
        save('over-memory', data, `RSS grew ${mib(rss - checkedRss)} MiB within 1,024 inputs (to ${mib(rss)} MiB)`);
      checkedRss = rss;
    }
    let fresh = false;
    for (let i = 0; i < state.touchedCount; i++) {
      const slot = touched[i]!;
      const bit = bucket(counters[slot]!);
      if ((virgin[slot]! & bit) === 0) {
        virgin[slot]! |= bit;
        fresh = true;
      }
      counters[slot] = 0;
    }
    state.touchedCount = 0;
    return fresh;
  };

  const stored = readCorpus(path.join(options.corpusDir, target.name));
  for (const data of [...target.seeds(), ...stored]) {
    const input = data.subarray(0, target.maxLength);
    if (execute(input) || corpus.length === 0) corpus.push(input);
  }
  const storedNames = new Set(stored.map(sha1));
  const deadline = performance.now() + options.seconds * 1000;
  const dict = () => [...dictionary].map(entryBytes);
  let words = dict();
  while (!options.replayOnly && executions < options.runs && performance.now() < deadline) {
    if ((executions & 4095) === 0) words = dict();
    const parent = corpus[random() % corpus.length]!;
    const child = mutate(parent, corpus, words, random, target.maxLength);
    if (execute(child)) {
      corpus.push(child);
      const name = sha1(child);
      if (!storedNames.has(name) && options.corpusDir !== '') {
        mkdirSync(path.join(options.corpusDir, `${target.name}.new`), { recursive: true });
        writeFileSync(path.join(options.corpusDir, `${target.name}.new`, name), child);
        storedNames.add(name);
      }
    }
  }
  const seconds = (performance.now() - (deadline - options.seconds * 1000)) / 1000;
  void watchdog.terminate();
  let edges = 0;
  for (const v of virgin) if (v) edges++;
  return {
    target: target.name,
    executions,
    seconds: Math.round(seconds * 10) / 10,
    corpus: corpus.length,
    edges,
    findings,
    peakRssMiB: Math.round(peakRss / 2 ** 20),
    startRssMiB: Math.round(baseline / 2 ** 20),
    slowestMs: Math.round(slowestMs * 10) / 10,
  };
}

function readCorpus(dir: string): Uint8Array[] {
  try {
    return readdirSync(dir)
      .sort()
      .map((f) => new Uint8Array(readFileSync(path.join(dir, f))));
  } catch {
    return [];
  }
}

/** AFL's hit-count classes: 1, 2, 3, 4–7, 8–15, 16–31, 32–127, 128+. */
function bucket(count: number): number {
  if (count <= 3) return 1 << (count - 1);
  if (count < 8) return 8;
  if (count < 16) return 16;
  if (count < 32) return 32;
  if (count < 128) return 64;
  return 128;
}

function entryBytes(entry: string): Uint8Array {
  if (entry.startsWith('s:')) return Buffer.from(entry.slice(2), 'latin1');
  const n = Number(entry.slice(2));
  const out = Buffer.alloc(4);
  out.writeUInt32LE(n >>> 0);
  return n >= 0 && n < 256 ? out.subarray(0, 1) : n >= 0 && n < 65536 ? out.subarray(0, 2) : out;
}

const INTERESTING = [
  0, 1, 2, 7, 8, 16, 32, 64, 100, 127, 128, 255, 256, 512, 1000, 1024, 4096, 32767, 32768, 65535, 65536, 100000,
  0x7fffffff, 0x80000000, 0xffffffff,
];

function mutate(
  parent: Uint8Array,
  corpus: Uint8Array[],
  words: Uint8Array[],
  random: () => number,
  maxLength: number,
): Uint8Array {
  let data = Buffer.from(parent);
  const steps = 1 + (random() % 6);
  for (let s = 0; s < steps; s++) {
    const at = data.length ? random() % data.length : 0;
    switch (random() % 11) {
      case 0:
        if (data.length) data[at] = data[at]! ^ (1 << (random() % 8));
        break;
      case 1:
        if (data.length) data[at] = random() & 255;
        break;
      case 2: {
        const n = 1 + (random() % 16);
        data = Buffer.concat([data.subarray(0, at), randomBytes(n, random), data.subarray(at)]);
        break;
      }
      case 3: {
        const n = 1 + (random() % Math.max(1, Math.min(64, data.length - at)));
        data = Buffer.concat([data.subarray(0, at), data.subarray(at + n)]);
        break;
      }
      case 4: {
        const value = INTERESTING[random() % INTERESTING.length]!;
        const width = [1, 2, 4][random() % 3]!;
        if (at + width <= data.length) {
          if (width === 1) data[at] = value & 255;
          else if (width === 2) data.writeUInt16LE(value & 0xffff, at);
          else data.writeUInt32LE(value >>> 0, at);
        }
        break;
      }
      case 5:
        if (at + 2 <= data.length) data.writeUInt16BE(INTERESTING[random() % INTERESTING.length]! & 0xffff, at);
        break;
      case 6:
        if (data.length) data[at] = (data[at]! + (random() % 35) - 17) & 255;
        break;
      case 7: {
        const word = words.length ? words[random() % words.length]! : undefined;
        if (!word) break;
        if (random() % 2 && at + word.length <= data.length) data.set(word, at);
        else data = Buffer.concat([data.subarray(0, at), word, data.subarray(at)]);
        break;
      }
      case 8: {
        const other = corpus[random() % corpus.length]!;
        const from = other.length ? random() % other.length : 0;
        const n = random() % Math.max(1, other.length - from);
        data = Buffer.concat([data.subarray(0, at), other.subarray(from, from + n)]);
        break;
      }
      case 9: {
        const n = 1 + (random() % Math.max(1, Math.min(256, data.length - at)));
        const times = 1 + (random() % 8);
        const chunk = data.subarray(at, at + n);
        data = Buffer.concat([data.subarray(0, at), ...Array.from({ length: times }, () => chunk), data.subarray(at)]);
        break;
      }
      default:
        if (data.length > 1) data = data.subarray(0, random() % data.length);
    }
  }
  return new Uint8Array(data.subarray(0, maxLength));
}

function randomBytes(n: number, random: () => number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = random() & 255;
  return out;
}

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function sha1(data: Uint8Array): string {
  return createHash('sha1').update(data).digest('hex').slice(0, 16);
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}
