import { generateSecret, generateURI, verify } from 'otplib';

/**
 * TOTP after RFC 6238 with the authenticator-app defaults (SHA-1, 6 digits, 30 s), which
 * every common app understands. A code is accepted one step either side of the server clock
 * (RFC 6238 §5.2 allows for drift and delay) and only for a step later than the last one
 * used, so a code seen over someone's shoulder cannot be replayed (§5.2, "MUST NOT accept
 * the second attempt of the same OTP").
 */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_ISSUER = 'Vigil';

export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The otpauth:// URI an authenticator app reads from a QR code. */
export function totpUri(secret: string, username: string): string {
  return generateURI({ issuer: TOTP_ISSUER, label: username, secret });
}

export function isTotpCodeShaped(code: string): boolean {
  return /^\d{6}$/.test(code);
}

/**
 * Checks a code; returns the time step it belongs to (to store as the last one used), or
 * undefined when it is wrong, malformed, or not newer than `afterStep`.
 */
export async function verifyTotp(
  secret: string,
  code: string,
  opts: { nowMs: number; afterStep?: number | null | undefined },
): Promise<number | undefined> {
  if (!isTotpCodeShaped(code)) return undefined;
  try {
    const result = await verify({
      secret,
      token: code,
      epoch: Math.floor(opts.nowMs / 1000),
      epochTolerance: TOTP_PERIOD_SECONDS,
      ...(opts.afterStep === null || opts.afterStep === undefined ? {} : { afterTimeStep: opts.afterStep }),
    });
    if (!result.valid) return undefined;
    // The functional API types HOTP and TOTP results together; a TOTP result carries timeStep.
    return 'timeStep' in result && typeof result.timeStep === 'number'
      ? result.timeStep
      : Math.floor(opts.nowMs / 1000 / TOTP_PERIOD_SECONDS) + result.delta;
  } catch {
    return undefined;
  }
}
