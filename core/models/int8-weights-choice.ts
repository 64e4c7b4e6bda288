import { readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { ConfigError } from '../errors.js';

/**
 * How a prepared int8 graph stores the weights its uint8 activations meet: 'as-shipped' (int8, onnxruntime's u8·s8
 * kernel) or 'uint8' (shifted by 128, its u8·u8 kernel; `useExactInt8Kernels`). Both give the same integers wherever
 * u8·s8 is exact; 'uint8' is only needed where it is not, and costs ~2–3× the convolution time where it is.
 */
export type Int8WeightEncoding = 'as-shipped' | 'uint8';
/** What a user may ask for: a fixed encoding, or 'auto' (the CPU decides: `chooseInt8Weights`). */
export type Int8WeightsSetting = 'auto' | Int8WeightEncoding;
export const INT8_WEIGHTS_SETTINGS: readonly Int8WeightsSetting[] = ['auto', 'as-shipped', 'uint8'];

export interface CpuFeatures {
  /** `os.arch()`: 'x64', 'arm64', … */
  arch: string;
  /** `os.platform()`. */
  platform: string;
  /** The kernel's CPU flags (/proc/cpuinfo `flags` on x64, `Features` on arm64); undefined where unknown. */
  flags?: ReadonlySet<string>;
}

/**
 * Whether onnxruntime's u8·s8 GEMM (MLAS) accumulates exactly on this CPU. x64: with AVX-512 VNNI or AVX-VNNI it runs
 * `vpdpbusd`, which sums u8·s8 products straight into int32; without VNNI it runs AVX2's `vpmaddubsw`, which
 * saturates pairs of products at int16 (measured on mobilenetv2-12-int8: the first QLinearConv off by up to 48 of
 * 255). arm64 with the dot-product extension (`asimddp`; every Apple Silicon core) runs SDOT/UDOT into int32. Unknown
 * CPUs (no flags readable) count as inexact: the uint8 rewrite is exact everywhere, only slower.
 */
export function u8s8IsExact(cpu: CpuFeatures): boolean {
  if (cpu.arch === 'x64') return cpu.flags !== undefined && (cpu.flags.has('avx512_vnni') || cpu.flags.has('avx_vnni'));
  if (cpu.arch === 'arm64') return cpu.platform === 'darwin' || (cpu.flags?.has('asimddp') ?? false);
  return false;
}

/** The encoding a setting comes to on a CPU: 'auto' keeps the shipped int8 weights wherever u8·s8 is exact. */
export function chooseInt8Weights(setting: Int8WeightsSetting, cpu: CpuFeatures = thisCpu()): Int8WeightEncoding {
  if (setting !== 'auto') return setting;
  return u8s8IsExact(cpu) ? 'as-shipped' : 'uint8';
}

/** Checks a user's value (an environment variable, a flag): one of `INT8_WEIGHTS_SETTINGS`, or a ConfigError. */
export function parseInt8WeightsSetting(value: string | undefined, source: string): Int8WeightsSetting {
  if (value === undefined || value === '') return 'auto';
  if ((INT8_WEIGHTS_SETTINGS as readonly string[]).includes(value)) return value as Int8WeightsSetting;
  throw new ConfigError(`${source} must be one of ${INT8_WEIGHTS_SETTINGS.join(', ')} (got "${value}")`);
}

let cachedCpu: CpuFeatures | undefined;

/** This machine's CPU, read once: Linux's /proc/cpuinfo flags, none elsewhere. */
export function thisCpu(): CpuFeatures {
  if (cachedCpu) return cachedCpu;
  let flags: Set<string> | undefined;
  try {
    flags = cpuFlags(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    flags = undefined;
  }
  cachedCpu = { arch: arch(), platform: platform(), ...(flags ? { flags } : {}) };
  return cachedCpu;
}

/** The first processor's `flags` (x86) or `Features` (ARM) line of /proc/cpuinfo, as a set; undefined if none. */
export function cpuFlags(cpuinfo: string): Set<string> | undefined {
  const line = /^(?:flags|Features)\s*:(.*)$/m.exec(cpuinfo);
  return line ? new Set(line[1]!.trim().split(/\s+/)) : undefined;
}

/** The CPU's model name (/proc/cpuinfo) and the flags that pick the int8 kernels, for benchmark headers. */
export function describeCpu(cpu: CpuFeatures = thisCpu(), cpuinfo?: string): string {
  let model: string;
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo ?? readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    model = '';
  }
  const relevant = ['avx2', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx_vnni', 'amx_int8', 'asimddp'].filter((f) =>
    cpu.flags?.has(f),
  );
  return `${model || cpu.arch} (${cpu.arch}; ${relevant.length ? relevant.join(' ') : 'no AVX2/VNNI/dotprod flags'})`;
}
