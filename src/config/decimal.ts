/**
 * A number as people write it in a flag, a variable or a config file: plain decimal digits,
 * with a fraction only where one is allowed. Number() alone would take 0x10, 0b1, 1e1, " 5",
 * "5 " or "+5", so a typo could open a listener on a port nobody meant or run a load test at a
 * rate nobody asked for: no leading zeros, no sign, no exponent, no padding. Returns undefined
 * for anything else, or outside [min, max].
 */
export function parseDecimal(
  value: string,
  range: { min: number; max: number; isWhole: boolean },
): number | undefined {
  const shape = range.isWhole ? /^(0|[1-9]\d*)$/ : /^(0|[1-9]\d*)(\.\d+)?$/;
  if (!shape.test(value)) return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= range.min && n <= range.max ? n : undefined;
}

/** A whole number in [min, max] from a config file (a JSON integer) or a variable (its digits). */
export function parseWholeSetting(value: unknown, min: number, max: number): number | undefined {
  if (typeof value === 'string') return parseDecimal(value, { min, max, isWhole: true });
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
    ? value
    : undefined;
}
