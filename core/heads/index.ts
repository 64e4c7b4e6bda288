export type { Matrix } from './matrix.js';
export { matrixFromRows, takeRows, takeLabels, toRows, zeros, row } from './matrix.js';
export {
  createHead,
  type Classifier,
  type HeadKind,
  type HeadOptions,
  type HeadJSON,
  type ProbabilityKind,
  type ResolvedHeadOptions,
} from './head.js';
export type { ClassWeight } from './class-weight.js';
export { loadHead, rawSpaceLinear, HEAD_FORMAT, HEAD_VERSION } from './serialize.js';
export { LogisticRegression, type LogisticParams } from './logistic-regression.js';
export { LinearSVC, type SvmParams, type SvmLoss } from './linear-svm.js';
export { Standardizer } from './standardizer.js';
export { mulberry32 } from './prng.js';
export {
  crossValidate,
  defaultCGrid,
  stratifiedKFold,
  stratifiedSplit,
  type CvCandidate,
  type CvOptions,
  type CvResult,
  type CvRow,
  type Split,
} from './model-selection.js';
