/** Branded ids: a DeviceId passed where a PatientId is expected is a compile error. */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type DeviceId = Brand<string, 'DeviceId'>;
export type PatientId = Brand<string, 'PatientId'>;

/** Ids appear in topics, URLs and certificate CNs, so they are limited to a safe alphabet. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isValidId(value: string): boolean {
  return ID_PATTERN.test(value);
}

export function asDeviceId(value: string): DeviceId {
  return value as DeviceId;
}

export function asPatientId(value: string): PatientId {
  return value as PatientId;
}
