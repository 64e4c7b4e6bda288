import * as v from 'valibot';
import type { BlobStore } from '../ports/blob-store.js';
import { InvalidArtefactError } from './artefact-error.js';

/**
 * The building blocks of the workspace files' Valibot schemas, with the messages a reader of an InvalidArtefactError
 * sees ("$.entries[0].label: expected an integer in [0, …], got -1"), and the one reader of a versioned artefact.
 *
 * Lenient where it is meant to be: an object may carry fields its schema does not name (artefacts are versioned as a
 * whole, so an extra field is a newer writer's addition, not a typo), and the reader returns the value as it was read,
 * those fields included.
 */

const show = (value: unknown): string => {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
};
/** A Valibot message: "expected <what>, got <the value, shortened>". */
export const expected =
  (what: string) =>
  (issue: v.BaseIssue<unknown>): string =>
    `expected ${what}, got ${show(issue.input)}`;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const text = v.string(expected('a string'));
export const finite = v.pipe(v.number(expected('a finite number')), v.finite(expected('a finite number')));
/** A number, or null where JSON wrote a NaN or an infinity (log-loss of a certain wrong prediction, say). */
export const numberOrNull = v.nullable(v.number(expected('a number')));
export const bool = v.boolean(expected('true or false'));
export const positive = v.pipe(
  v.number(expected('a positive finite number')),
  v.finite(expected('a positive finite number')),
  v.gtValue(0, expected('a positive finite number')),
);

export function integer(min: number, max: number) {
  const message = expected(`an integer in [${min}, ${max}]`);
  return v.pipe(v.number(message), v.integer(message), v.minValue(min, message), v.maxValue(max, message));
}
/** A count, index or label: an integer from 0 up. */
export const count = integer(0, Number.MAX_SAFE_INTEGER);

export function oneOf<const T extends readonly (string | number)[]>(...choices: T) {
  return v.picklist(choices, expected(`one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`));
}

/** An object (not an array, not null) with at least these fields. */
export function fields<const E extends v.ObjectEntries>(entries: E) {
  return v.pipe(v.custom<Record<string, unknown>>(isRecord, expected('an object')), v.object(entries, 'required'));
}

export function list<const S extends v.GenericSchema>(item: S) {
  return v.array(item, expected('an array'));
}

/** An object used as a map: any keys, every value checked. */
export function mapOf<const S extends v.GenericSchema>(item: S) {
  return v.pipe(v.custom<Record<string, unknown>>(isRecord, expected('an object')), v.record(v.string(), item));
}

/**
 * A part whose full check belongs to another module (a head's own format, checked by core/heads' loadHead before
 * use): checked only as far as `schema` goes here, and typed as that module's type `T`, which must have at least the
 * fields `schema` checks, with the same types.
 */
export function checkedElsewhere<T>() {
  return <S extends v.GenericSchema>(schema: S & (T extends v.InferOutput<S> ? unknown : never)) =>
    v.pipe(
      schema,
      v.transform((value) => value as unknown as T),
    );
}

/** Any object: a part this reader does not look into. */
export const anyObject = v.custom<object>(isRecord, expected('an object'));

/**
 * Problems named by path from `root` ("$.a.b[2]"); the first `limit` of a value with many (one per row helps nobody).
 */
export function problemsOf(issues: readonly v.BaseIssue<unknown>[], root = '$', limit = 20): string[] {
  const named = issues.slice(0, limit).map((issue) => {
    const at = (issue.path ?? [])
      .map((item) => (typeof item.key === 'number' ? `[${item.key}]` : `.${String(item.key)}`))
      .join('');
    return `${root}${at}: ${issue.message}`;
  });
  if (issues.length > named.length) named.push(`and ${issues.length - named.length} more`);
  return named;
}

/**
 * Reads one versioned JSON artefact: undefined when it is absent, the checked value when it is this build's version,
 * an InvalidArtefactError naming every problem otherwise.
 */
export async function readArtefact<S extends v.GenericSchema>(
  store: BlobStore,
  key: string,
  version: number,
  schema: S,
): Promise<v.InferOutput<S> | undefined> {
  const raw = await store.getJson<unknown>(key);
  if (raw === undefined) return undefined;
  return parseArtefact(raw, store.location, key, version, schema);
}

/** `readArtefact` of a value already parsed from JSON; `location` and `key` name it in the error. */
export function parseArtefact<S extends v.GenericSchema>(
  raw: unknown,
  location: string,
  key: string,
  version: number,
  schema: S,
): v.InferOutput<S> {
  const found = (raw as { version?: unknown } | null)?.version;
  if (found !== version)
    throw new InvalidArtefactError(location, key, [
      `version ${JSON.stringify(found)} is not the one this build reads (${version})`,
    ]);
  const result = v.safeParse(schema, raw);
  if (!result.success) throw new InvalidArtefactError(location, key, problemsOf(result.issues));
  // The value as read: fields of a newer writer that the schema does not name stay, as they were written.
  return raw as v.InferOutput<S>;
}
