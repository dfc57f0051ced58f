import type { Cents } from './money';

/**
 * Cost per learner of an offer (seed 001): round2(EUR 1.56 hourly base × the programme group's minimum cost
 * coefficient) × hours. Worked in integers: the base is 156 cents and the coefficient is kept in thousandths
 * (1.28 → 1280), so round2 is a half-up rounding of a whole number of thousandths of a cent.
 */

/** The hourly base rate in cents (EUR 1.56). */
export const HOURLY_BASE_CENTS = 156;

/** The rounded hourly rate in cents for a coefficient in thousandths: round2(1.56 × 1.28) = 2.00 → 200. */
export function hourlyRateCents(coefficientThousandths: number): Cents {
  if (!Number.isInteger(coefficientThousandths) || coefficientThousandths <= 0) {
    throw new RangeError('the coefficient must be a positive whole number of thousandths');
  }
  return Math.floor((HOURLY_BASE_CENTS * coefficientThousandths + 500) / 1000);
}

/** Cost per learner in cents: the rounded hourly rate × hours (1.28, 160 h → 32 000 cents = EUR 320.00). */
export function costPerLearnerCents(coefficientThousandths: number, hours: number): Cents {
  if (!Number.isInteger(hours) || hours <= 0) throw new RangeError('hours must be a positive whole number');
  return hourlyRateCents(coefficientThousandths) * hours;
}
