import { optional } from '../../core/util/optional.js';
import type { TrainOptions } from '../../core/messages/schema.js';
import { choiceFlag, numberFlag } from '../args.js';
import type { FlagValues, OptionSpec } from '../command.js';

/** The head flags `run`, `train` and `submit` share. `headChoices` parses all but --layer and --seed, whose valid
 * values differ between the local CLI and a submitted run; each caller parses those itself. */
export const HEAD_OPTIONS: OptionSpec = {
  layer: { type: 'string' },
  head: { type: 'string' },
  C: { type: 'string' },
  folds: { type: 'string' },
  seed: { type: 'string' },
  'class-weight': { type: 'string' },
  'exclude-suspects': { type: 'boolean' },
};

/** The train options every caller parses the same way (--layer and --seed are each caller's own, see above). */
export type HeadChoices = Omit<TrainOptions, 'layer' | 'seed'>;

export function headChoices(values: FlagValues): HeadChoices {
  return {
    ...optional('head', choiceFlag(values, 'head', ['logistic', 'svm', 'auto'] as const)),
    ...optional(
      'C',
      numberFlag(values, 'C', (n) => n > 0, 'a positive number'),
    ),
    ...optional(
      'folds',
      numberFlag(values, 'folds', (n) => Number.isInteger(n) && n >= 2, 'an integer ≥ 2'),
    ),
    ...optional('classWeight', choiceFlag(values, 'class-weight', ['balanced'] as const)),
    ...(values['exclude-suspects'] === true ? { excludeSuspects: true } : {}),
  };
}
