import { DataError } from '../errors.js';

/**
 * A workspace file that exists but is not what this build writes: wrong version, missing or mistyped fields. A data
 * problem (exit 3), not a configuration one: the fix is to re-run the step that writes the file.
 */
export class InvalidArtefactError extends DataError {
  readonly key: string;
  readonly problems: string[];
  constructor(location: string, key: string, problems: string[]) {
    super(`${location}/${key} is not a valid ${key} (re-run the step that writes it): ${problems.join('; ')}`);
    this.key = key;
    this.problems = problems;
  }
}
