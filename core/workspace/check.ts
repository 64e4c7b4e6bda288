import type { Check } from '../messages/validate.js';
import type { BlobStore } from '../ports/blob-store.js';
import { InvalidArtefactError } from './artefact-error.js';

/**
 * An object with at least these fields, each checked; fields it does not name are kept as they are. Artefacts are
 * versioned as a whole (the reader checks `version` first), so an extra field is a newer writer's addition, not a typo.
 */
export function fields<T>(
  shape: Record<string, Check<unknown>>,
  optional: Record<string, Check<unknown>> = {},
): Check<T> {
  return (value, path, problems) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`${path}: expected an object`);
      return undefined;
    }
    const record = value as Record<string, unknown>;
    const before = problems.length;
    for (const [key, check] of Object.entries(shape)) {
      if (record[key] === undefined) problems.push(`${path}.${key}: required`);
      else check(record[key], `${path}.${key}`, problems);
    }
    for (const [key, check] of Object.entries(optional))
      if (record[key] !== undefined) check(record[key], `${path}.${key}`, problems);
    return problems.length === before ? (value as T) : undefined;
  };
}

export const anyString: Check<string> = (value, path, problems) => {
  if (typeof value === 'string') return value;
  problems.push(`${path}: expected a string`);
  return undefined;
};

export const finite: Check<number> = (value, path, problems) => {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  problems.push(`${path}: expected a finite number, got ${JSON.stringify(value)}`);
  return undefined;
};

/** A number, or null where JSON wrote a NaN or an infinity (log-loss of a certain wrong prediction, say). */
export const numberOrNull: Check<number | null> = (value, path, problems) => {
  if (value === null || typeof value === 'number') return value;
  problems.push(`${path}: expected a number`);
  return undefined;
};

export const anyObject: Check<object> = (value, path, problems) => {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value;
  problems.push(`${path}: expected an object`);
  return undefined;
};

export const list =
  <T>(item: Check<T>): Check<T[]> =>
  (value, path, problems) => {
    if (!Array.isArray(value)) {
      problems.push(`${path}: expected an array`);
      return undefined;
    }
    const before = problems.length;
    // Stop at the first few bad items: one message per row of a 10 000-row file helps nobody.
    for (let i = 0; i < value.length && problems.length - before < 3; i++) item(value[i], `${path}[${i}]`, problems);
    return problems.length === before ? (value as T[]) : undefined;
  };

export const mapOf =
  <T>(item: Check<T>): Check<Record<string, T>> =>
  (value, path, problems) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`${path}: expected an object`);
      return undefined;
    }
    const before = problems.length;
    for (const [key, v] of Object.entries(value)) item(v, `${path}.${key}`, problems);
    return problems.length === before ? (value as Record<string, T>) : undefined;
  };

/**
 * Reads one versioned JSON artefact: undefined when it is absent, the checked value when it is this build's version,
 * an InvalidArtefactError naming every problem otherwise.
 */
export async function readArtefact<T>(
  store: BlobStore,
  key: string,
  version: number,
  check: Check<T>,
): Promise<T | undefined> {
  const raw = await store.getJson<unknown>(key);
  if (raw === undefined) return undefined;
  return parseArtefact(raw, `${store.location}`, key, version, check);
}

export function parseArtefact<T>(raw: unknown, location: string, key: string, version: number, check: Check<T>): T {
  const problems: string[] = [];
  const found = (raw as { version?: unknown } | null)?.version;
  if (found !== version) {
    problems.push(`version ${JSON.stringify(found)} is not the one this build reads (${version})`);
    throw new InvalidArtefactError(location, key, problems);
  }
  const value = check(raw, '$', problems);
  if (value === undefined || problems.length > 0) throw new InvalidArtefactError(location, key, problems);
  return value;
}
