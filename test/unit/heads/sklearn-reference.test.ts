import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHead, type HeadOptions } from '../../../core/heads/head.js';
import { matrixFromRows } from '../../../core/heads/matrix.js';

/*
 * Reference values from scikit-learn 1.9.1 (numpy 2.4), computed once with:
 *   A = StandardScaler().fit(X).transform(X)
 *   LogisticRegression(C=0.5, tol=1e-12, max_iter=100000[, class_weight='balanced']).fit(A, y)
 *   LinearSVC(C=0.5, tol=1e-12, max_iter=10**7, loss=..., [class_weight='balanced']).fit(A, y)
 * X: 24 × 3, three classes, the third feature on a 10× larger scale; Xq: 5 query rows. Both solvers were run to
 * tolerances far below the comparison tolerance, so the optima are compared, not solver paths.
 * Tolerances: logistic coefficients/intercepts 1e-6 absolute, probabilities 1e-7; SVM coefficients and scores 1e-5.
 */
const X = [
  [3.191, -0.466, 0.33],
  [0.408, 0.711, 0.02],
  [-0.001, -1.755, 25.18],
  [2.1, -0.625, -1.72],
  [0.505, 1.239, -2.43],
  [-1.453, 0.555, 16.24],
  [1.774, -1.527, 16.51],
  [0.154, 1.113, 20.29],
  [-0.045, -1.451, 10.95],
  [-0.788, 1.049, -4.16],
  [-0.743, 2.572, -16.51],
  [0.535, -2.064, 8.38],
  [0.296, 1.462, 17.66],
  [-0.329, 2.341, -1.8],
  [0.568, -0.753, -2.08],
  [-0.303, 0.383, 22.48],
  [0.269, 0.975, 19.12],
  [0.237, 0.101, 17.53],
  [1.368, -0.309, -14.35],
  [0.502, 1.405, 11.93],
  [-0.369, -1.906, 14.0],
  [3.2, -0.383, -8.9],
  [-1.194, 0.45, -3.0],
  [-1.18, 1.498, 12.17],
];
const y = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2];
const yImbalanced = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2];
const Xq = [
  [0.109, 1.438, 15.03],
  [-0.213, 0.332, 7.35],
  [-0.193, -1.778, 6.55],
  [0.894, 0.416, -9.24],
  [-0.196, -0.591, -3.0],
];
const REF = {
  logistic_multi: {
    coef: [
      [0.6717657787708614, -0.02003560930430924, -0.08598546987547892],
      [-0.03325329943192597, 0.8133022784952136, -0.18461898902765306],
      [-0.6385124793389353, -0.7932666691909046, 0.27060445890313206],
    ],
    intercept: [0.11509846691411653, -0.048374449663774605, -0.0667240172503416],
    proba: [
      [0.2688536857516009, 0.5493368350577518, 0.1818094791906474],
      [0.26562680542517453, 0.3436268618623051, 0.3907463327125204],
      [0.15941885865714234, 0.05290731794634296, 0.7876738233965147],
      [0.48246761441478564, 0.3955169197003971, 0.12201546588481717],
      [0.2777411970263429, 0.21446927422494044, 0.5077895287487165],
    ],
  },
  logistic_binary: {
    coef: [[-0.8058542431976159, -0.9703580361980401, 0.39703954167296757]],
    intercept: [-0.891913053761418],
    proba: [
      [0.7970448552478198, 0.2029551447521803],
      [0.6420551845231119, 0.357944815476888],
      [0.2781697123715299, 0.7218302876284701],
      [0.8754743056523598, 0.12452569434764019],
      [0.5634397140926866, 0.4365602859073135],
    ],
  },
  logistic_multi_balanced: {
    coef: [
      [0.6717657787708614, -0.02003560930430924, -0.08598546987547892],
      [-0.03325329943192597, 0.8133022784952136, -0.18461898902765306],
      [-0.6385124793389353, -0.7932666691909046, 0.27060445890313206],
    ],
    intercept: [0.11509846691411653, -0.048374449663774605, -0.0667240172503416],
    proba: [
      [0.2688536857516009, 0.5493368350577518, 0.1818094791906474],
      [0.26562680542517453, 0.3436268618623051, 0.3907463327125204],
      [0.15941885865714234, 0.05290731794634296, 0.7876738233965147],
      [0.48246761441478564, 0.3955169197003971, 0.12201546588481717],
      [0.2777411970263429, 0.21446927422494044, 0.5077895287487165],
    ],
  },
  svm_multi: {
    coef: [
      [0.5579608320909804, 0.06943236976667712, -0.026467745421958625],
      [0.03003554137055426, 0.783162142651141, -0.10762524735304461],
      [-0.6337529323800464, -0.6794672730287691, 0.13665564900392915],
    ],
    intercept: [-0.3275090222719074, -0.45252838493902076, -0.3976475132237218],
    decision: [
      [-0.39762393046254796, 0.2157249892855087, -0.8180371837063193],
      [-0.589021078279304, -0.38965700058739283, -0.1582769460286918],
      [-0.6908654746268663, -1.6556566146532041, 0.9270358973428201],
      [-0.03315470956278155, -0.15926626165342556, -0.9790935716622335],
      [-0.6072071943811107, -0.8516222994840577, 0.1957878924841936],
    ],
  },
  svm_binary: {
    coef: [[-0.6337529323800464, -0.6794672730287691, 0.13665564900392915]],
    intercept: [-0.3976475132237219],
    decision: [
      [-0.8180371837063194],
      [-0.15827694602869186],
      [0.9270358973428201],
      [-0.9790935716622335],
      [0.19578789248419343],
    ],
  },
  svm_multi_hinge: {
    coef: [
      [0.859778763075615, -0.027239503945970536, -0.24974744359555323],
      [0.0047231837664574805, 1.0055699514524612, -0.16155849794248953],
      [-0.7822079719383223, -0.9537490607712851, 0.08655473054222337],
    ],
    intercept: [-0.6499065416301343, -0.778083984188545, -0.5599083333921404],
    decision: [
      [-1.0372326055605514, 0.0702675891444221, -1.2484126747623872],
      [-1.08109220919459, -0.6826871711655449, -0.28226973118249254],
      [-1.0054672992890952, -2.30718571431546, 1.250109799528709],
      [0.06190745449057966, -0.38503673905641506, -1.1868390172162615],
      [-0.8294812895274641, -1.2557314651251217, 0.3089951113584596],
    ],
  },
  svm_multi_balanced: {
    coef: [
      [0.0098259704154365, -0.014308316541795029, 0.03193460899788956],
      [0.2389882375426115, 0.2469616802908362, 0.16615138497375706],
      [-0.21461022414875666, -0.22601542877153286, -0.2393536084646033],
    ],
    intercept: [0.00044013613203716635, -0.4332149096690359, -0.43503781376431216],
    decision: [
      [0.007609618178204005, -0.126919584086865, -0.7790457127360442],
      [-0.0037046391043202916, -0.5101473928770753, -0.37234539116826054],
      [0.01755664380515385, -0.9191746692452443, 0.008003806123376478],
      [-0.040684224444565036, -0.5086760860131194, -0.2466123059591381],
      [-0.02152460872141419, -0.8288870211662629, -0.0036615733733565414],
    ],
  },
};

const trainX = matrixFromRows(X);
const queryX = matrixFromRows(Xq);
const labels = (v: number[]) => Int32Array.from(v);
const binary = labels(y.map((c) => (c === 2 ? 1 : 0)));

function assertClose(actual: ArrayLike<number>, expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: ${actual[i]} vs scikit-learn ${expected[i]}`);
  }
}

function fitted(options: HeadOptions, target: Int32Array) {
  const head = createHead({ tol: 1e-10, maxIter: 100000, ...options }).fit(trainX, target);
  return { head, json: head.toJSON() };
}

test('multinomial logistic regression matches scikit-learn', () => {
  const { head, json } = fitted({ kind: 'logistic', C: 0.5 }, labels(y));
  assertClose(json.weights.flat(), REF.logistic_multi.coef.flat(), 1e-6, 'coef');
  assertClose(json.intercepts, REF.logistic_multi.intercept, 1e-6, 'intercept');
  assertClose(head.predictProba(queryX).data, REF.logistic_multi.proba.flat(), 1e-7, 'proba');
});

test('binary logistic regression matches scikit-learn (one coefficient row)', () => {
  const { head, json } = fitted({ kind: 'logistic', C: 0.5 }, binary);
  assert.equal(json.weights.length, 1);
  assertClose(json.weights.flat(), REF.logistic_binary.coef.flat(), 1e-6, 'coef');
  assertClose(json.intercepts, REF.logistic_binary.intercept, 1e-6, 'intercept');
  assertClose(head.predictProba(queryX).data, REF.logistic_binary.proba.flat(), 1e-7, 'proba');
});

test("logistic regression with classWeight 'balanced' matches scikit-learn", () => {
  const { head, json } = fitted({ kind: 'logistic', C: 0.5, classWeight: 'balanced' }, labels(y));
  assertClose(json.weights.flat(), REF.logistic_multi_balanced.coef.flat(), 1e-6, 'coef');
  assertClose(head.predictProba(queryX).data, REF.logistic_multi_balanced.proba.flat(), 1e-7, 'proba');
});

const svmCases: Array<[keyof typeof REF, HeadOptions, Int32Array]> = [
  ['svm_multi', { kind: 'svm', C: 0.5 }, labels(y)],
  ['svm_binary', { kind: 'svm', C: 0.5 }, binary],
  ['svm_multi_hinge', { kind: 'svm', C: 0.5, svmLoss: 'hinge' }, labels(y)],
  ['svm_multi_balanced', { kind: 'svm', C: 0.5, classWeight: 'balanced' }, labels(yImbalanced)],
];
for (const [name, options, target] of svmCases) {
  test(`linear SVM matches scikit-learn LinearSVC: ${name}`, () => {
    const ref = REF[name] as { coef: number[][]; intercept: number[]; decision: number[][] };
    const { head, json } = fitted(options, target);
    assertClose(json.weights.flat(), ref.coef.flat(), 1e-5, 'coef');
    assertClose(json.intercepts, ref.intercept, 1e-5, 'intercept');
    assertClose(head.decisionFunction(queryX).data, ref.decision.flat(), 1e-5, 'decision');
  });
}
