import { ConfigError } from '../errors.js';

/**
 * A message that fails its schema. Never retryable: the worker moves it to the dead-letter queue with this text, so
 * the text names every offending field by its path.
 */
export class InvalidMessageError extends ConfigError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid message: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

/** Reads one value at `path`; pushes a problem and returns undefined when it does not fit. */
export type Check<T> = (value: unknown, path: string, problems: string[]) => T | undefined;

const show = (value: unknown): string => {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

export function string(pattern: RegExp, what: string): Check<string> {
  return (value, path, problems) => {
    if (typeof value === 'string' && pattern.test(value)) return value;
    problems.push(`${path}: expected ${what}, got ${show(value)}`);
    return undefined;
  };
}

export function integer(min: number, max: number): Check<number> {
  return (value, path, problems) => {
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    problems.push(`${path}: expected an integer in [${min}, ${max}], got ${show(value)}`);
    return undefined;
  };
}

export function positiveNumber(): Check<number> {
  return (value, path, problems) => {
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
    problems.push(`${path}: expected a positive finite number, got ${show(value)}`);
    return undefined;
  };
}

export function fraction(): Check<number> {
  return (value, path, problems) => {
    if (typeof value === 'number' && value > 0 && value < 1) return value;
    problems.push(`${path}: expected a number strictly between 0 and 1, got ${show(value)}`);
    return undefined;
  };
}

export function boolean(): Check<boolean> {
  return (value, path, problems) => {
    if (typeof value === 'boolean') return value;
    problems.push(`${path}: expected true or false, got ${show(value)}`);
    return undefined;
  };
}

export function oneOf<T extends string | number>(...choices: T[]): Check<T> {
  return (value, path, problems) => {
    if ((choices as unknown[]).includes(value)) return value as T;
    problems.push(`${path}: expected one of ${choices.map((c) => JSON.stringify(c)).join(', ')}, got ${show(value)}`);
    return undefined;
  };
}

export function arrayOf<T>(item: Check<T>, limits: { min: number; max: number; unique?: boolean }): Check<T[]> {
  return (value, path, problems) => {
    if (!Array.isArray(value)) {
      problems.push(`${path}: expected an array, got ${show(value)}`);
      return undefined;
    }
    if (value.length < limits.min || value.length > limits.max) {
      problems.push(`${path}: expected ${limits.min}..${limits.max} items, got ${value.length}`);
      return undefined;
    }
    const before = problems.length;
    const out = value.map((v, i) => item(v, `${path}[${i}]`, problems));
    if (limits.unique && new Set(value.map((v) => JSON.stringify(v))).size !== value.length)
      problems.push(`${path}: items must be unique`);
    return problems.length === before ? (out as T[]) : undefined;
  };
}

type Shape = Record<string, Check<unknown>>;
type Parsed<S extends Shape> = { [K in keyof S]: S[K] extends Check<infer T> ? T : never };

/** An object with exactly these fields: unknown fields are an error (a typo must not be silently ignored). */
export function object<R extends Shape, O extends Shape = Record<never, never>>(
  required: R,
  optional?: O,
): Check<Parsed<R> & Partial<Parsed<O>>> {
  return (value, path, problems) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`${path}: expected an object, got ${show(value)}`);
      return undefined;
    }
    const record = value as Record<string, unknown>;
    const before = problems.length;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(record)) {
      if (!(key in required) && !(optional && key in optional)) problems.push(`${path}.${key}: unknown field`);
    }
    for (const [key, check] of Object.entries(required)) {
      if (record[key] === undefined) problems.push(`${path}.${key}: required`);
      else out[key] = check(record[key], `${path}.${key}`, problems);
    }
    for (const [key, check] of Object.entries(optional ?? {})) {
      if (record[key] !== undefined) out[key] = check(record[key], `${path}.${key}`, problems);
    }
    return problems.length === before ? (out as Parsed<R> & Partial<Parsed<O>>) : undefined;
  };
}
