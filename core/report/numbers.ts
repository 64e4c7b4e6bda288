/**
 * How every output (CLI lines, report.md, report.html) prints a share and a regularization strength, so the same
 * number reads the same everywhere.
 */

/** 0.954 → "95.4 %", with a narrow no-break space (U+202F) so the sign never wraps away from its number. */
export const pct = (x: number, digits = 1): string => `${(x * 100).toFixed(digits)}\u202f%`;

/** C to three significant digits in [0.01, 1000) (0.1, 2.5, 316), else as a short exponent (1e-4, 2.5e+4). */
export function formatC(C: number): string {
  return C >= 0.01 && C < 1000 ? String(Number(C.toPrecision(3))) : Number(C.toPrecision(2)).toExponential();
}

/** How the final fit ended, for a person: "converged in 38 iterations" or a warning naming what to try. */
export function describeConvergence(fit: { iterations: number; converged: boolean }): string {
  return fit.converged
    ? `converged in ${fit.iterations} iterations`
    : `did not converge in ${fit.iterations} iterations (the solver's limit): the coefficients are approximate; a smaller C usually converges`;
}
