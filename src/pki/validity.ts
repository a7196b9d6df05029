/**
 * Validity periods. X.509 times carry whole seconds (RFC 5280 §4.1.2.5), so dates are cut to
 * the second before encoding and what a caller is told equals what the certificate says.
 */

/**
 * notBefore is set this far in the past: a device whose clock runs a little behind must not
 * refuse (or be refused with) a certificate issued a moment ago. Matches the 5 minutes of
 * clock skew the ingest path tolerates.
 */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

export function validityForDays(now: Date, days: number): Validity {
  return {
    notBefore: wholeSeconds(now.getTime() - CLOCK_SKEW_MS),
    notAfter: wholeSeconds(now.getTime() + days * DAY_MS),
  };
}

export function validityForYears(now: Date, years: number): Validity {
  const end = new Date(now.getTime());
  end.setUTCFullYear(end.getUTCFullYear() + years);
  return { notBefore: wholeSeconds(now.getTime() - CLOCK_SKEW_MS), notAfter: wholeSeconds(end.getTime()) };
}

/**
 * A certificate that outlives its issuer fails path validation from that day on (RFC 5280
 * §6.1.3 (a)(2) checks every certificate in the path), so a leaf never claims more.
 */
export function capAt(validity: Validity, issuerNotAfter: Date): Validity {
  return validity.notAfter > issuerNotAfter
    ? { notBefore: validity.notBefore, notAfter: issuerNotAfter }
    : validity;
}
