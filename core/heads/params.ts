import { ConfigError } from '../errors.js';

/**
 * The heads' hyperparameters, each declared once with its default and its constraint, as scikit-learn's
 * `_parameter_constraints`: estimators store what they are given, fill the defaults from here, and check the values
 * against these constraints when `fit` starts (a bad value is a ConfigError that names the parameter and the rule).
 */
export interface Constraint {
  /** What a valid value is, as the error message says it ("an integer ≥ 1"). */
  readonly rule: string;
  readonly test: (value: unknown) => boolean;
}

export interface Parameter<T> {
  readonly constraint: Constraint;
  /** Absent: the parameter is required. */
  readonly default?: T;
}

const positiveFinite = (meaning?: string): Constraint => ({
  rule: `a finite number > 0${meaning ? ` (${meaning})` : ''}`,
  test: (v) => typeof v === 'number' && Number.isFinite(v) && v > 0,
});

const integerAtLeast = (min: number): Constraint => ({
  rule: `an integer ≥ ${min}`,
  test: (v) => typeof v === 'number' && Number.isInteger(v) && v >= min,
});

const anyInteger: Constraint = { rule: 'an integer', test: (v) => typeof v === 'number' && Number.isInteger(v) };

const oneOf = (...values: readonly unknown[]): Constraint => ({
  rule: `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`,
  test: (v) => values.includes(v),
});

/** Every head parameter; a head kind declares the subset it takes (LOGISTIC_PARAMETERS, SVM_PARAMETERS, …). */
export const PARAMETERS = {
  kind: { constraint: oneOf('logistic', 'svm') } as Parameter<'logistic' | 'svm'>,
  /** Inverse L2 strength, scikit-learn's C. */
  C: { constraint: positiveFinite('inverse regularization strength') } as Parameter<number>,
  classWeight: { constraint: oneOf(null, 'balanced'), default: null } as Parameter<'balanced' | null>,
  /** Stopping tolerance (L-BFGS: largest gradient component; dual CD: projected-gradient spread), scikit-learn's. */
  tol: { constraint: positiveFinite(), default: 1e-4 } as Parameter<number>,
  /** L-BFGS iterations, or passes over the data per binary subproblem of the dual SVM. */
  maxIter: { constraint: integerAtLeast(1), default: 1000 } as Parameter<number>,
  /** Seeds the SVM's coordinate order. */
  seed: { constraint: anyInteger, default: 0 } as Parameter<number>,
  svmLoss: { constraint: oneOf('squared-hinge', 'hinge'), default: 'squared-hinge' } as Parameter<
    'squared-hinge' | 'hinge'
  >,
  dual: { constraint: oneOf(true, false, 'auto'), default: 'auto' } as Parameter<boolean | 'auto'>,
};

type Declaration = Readonly<Record<string, Parameter<unknown>>>;
type ValueOf<P> = P extends Parameter<infer T> ? T : never;
/** The values a declaration describes, every one filled in. */
export type Resolved<D> = { -readonly [K in keyof D]: ValueOf<D[K]> };

const { kind, C, classWeight, tol, maxIter, seed, svmLoss, dual } = PARAMETERS;

/** LogisticRegression's parameters (and the streamed logistic head's, whose C comes per fit). */
export const LOGISTIC_PARAMETERS = { C, classWeight, tol, maxIter };
/** LinearSVC's: liblinear's names, with `loss` for the SVM loss. */
export const SVM_PARAMETERS = { C, classWeight, tol, maxIter, loss: svmLoss, seed, dual };
/** A head (standardizer + estimator) as head.json records it: the union of both kinds' parameters. */
export const HEAD_PARAMETERS = { kind, C, classWeight, seed, tol, maxIter, svmLoss };

/** The default of one declaration, for a solver called without options. */
export const DEFAULT_MAX_ITER = PARAMETERS.maxIter.default!;

/**
 * `given` with every absent (undefined) parameter of `declaration` set to its default, in the declaration's key order
 * (head.json's order). Nothing is checked here: the constructor stores, `fit` checks (`checkParameters`).
 */
export function withDefaults<D extends Declaration>(
  declaration: D,
  given: { readonly [K in keyof D]?: ValueOf<D[K]> | undefined },
): Resolved<D> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(declaration)) {
    const value = (given as Record<string, unknown>)[name];
    out[name] = value === undefined ? declaration[name]!.default : value;
  }
  return out as Resolved<D>;
}

/** Throws a ConfigError naming the first parameter of `declaration` whose value breaks its constraint. */
export function checkParameters<D extends Declaration>(
  declaration: D,
  values: { readonly [K in keyof D]?: unknown },
  owner?: string,
): void {
  for (const [name, parameter] of Object.entries(declaration)) {
    const value = (values as Record<string, unknown>)[name];
    if (!parameter.constraint.test(value)) {
      const who = owner ? `${owner} ` : '';
      throw new ConfigError(`${who}${name} must be ${parameter.constraint.rule}; got ${describe(value)}`);
    }
  }
}

function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}
