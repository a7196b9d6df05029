import { VigilError } from '../errors/catalogue.ts';

/** Converts a value from one accepted unit to the code's canonical unit. */
export type UnitConversion = (value: number) => number;

/** A known observation code: LOINC (http://loinc.org) with UCUM units. */
export interface VitalCode {
  readonly code: string;
  readonly display: string;
  /** The UCUM unit values are stored in, and the one FHIR Observations carry. */
  readonly canonicalUnit: string;
  /** Every accepted UCUM unit (the canonical one included, as identity) to its conversion. */
  readonly units: Readonly<Record<string, UnitConversion>>;
  /** Inclusive bounds in the canonical unit; a value outside is a device fault or a unit mix-up. */
  readonly plausible: { readonly min: number; readonly max: number };
  /** Decimal places stored; finer than any device resolves, coarse enough to delta-encode well. */
  readonly decimals: number;
}

const identity: UnitConversion = (value) => value;

/** The molar mass of glucose, 180.156 g/mol, makes 1 mmol/L equal 18.0156 mg/dL. */
export const GLUCOSE_MG_DL_PER_MMOL_L = 18.0156;
/** The international avoirdupois pound is defined as exactly 0.45359237 kg (1959 agreement). */
export const KG_PER_POUND = 0.45359237;

const fahrenheitToCelsius: UnitConversion = (value) => ((value - 32) * 5) / 9;
const glucoseMmolToMg: UnitConversion = (value) => value * GLUCOSE_MG_DL_PER_MMOL_L;
const poundsToKg: UnitConversion = (value) => value * KG_PER_POUND;
const gramsToKg: UnitConversion = (value) => value / 1000;

const glucoseUnits = { 'mg/dL': identity, 'mmol/L': glucoseMmolToMg };
// 10-1500 mg/dL: meters report down to 10-20 mg/dL and CGMs clamp at 40-400, but a
// hyperosmolar hyperglycaemic state is diagnosed from 600 mg/dL and case reports exceed
// 1000 mg/dL, so the ceiling sits above any true value a device or lab can send. A mg/dL number
// sent as mmol/L (100 mmol/L = 1802 mg/dL) still lands above it, and mmol/L sent as mg/dL
// (5.5) below the floor of 10.
const glucosePlausible = { min: 10, max: 1500 };

/**
 * The core vital signs of DESIGN.md ("Core vital-sign codes"). Plausible ranges are
 * deliberately wide: they catch sensor faults and unit mix-ups, not clinical abnormality,
 * because refusing a true extreme value would hide exactly the reading an alert needs.
 */
export const CORE_VITAL_CODES: readonly VitalCode[] = Object.freeze(
  [
    {
      code: '8867-4',
      display: 'Heart rate',
      canonicalUnit: '/min',
      units: { '/min': identity },
      // 20-300: neonatal supraventricular tachycardia and ventricular flutter reach about 300;
      // under 20 is an agonal rhythm that the device's own arrest alarm handles, and a number
      // there is far more often lead-off or motion artefact.
      plausible: { min: 20, max: 300 },
      decimals: 0,
    },
    {
      code: '59408-5',
      display: 'Oxygen saturation in Arterial blood by Pulse oximetry',
      canonicalUnit: '%',
      units: { '%': identity },
      // 30-100: oximeter accuracy is specified only from 70 % (ISO 80601-2-61), yet 40-60 % is
      // real in cyanotic heart disease and arrest and must reach an alert; below about 30 % no
      // oximeter yields a meaningful value, and 0 is how some report a lost signal.
      plausible: { min: 30, max: 100 },
      decimals: 0,
    },
    {
      code: '9279-1',
      display: 'Respiratory rate',
      canonicalUnit: '/min',
      units: { '/min': identity },
      // 0-150: capnographs and apnoea monitors report 0 during apnoea, the reading that matters
      // most; distressed neonates breathe well over 100 /min, and capnographs display up to 150.
      plausible: { min: 0, max: 150 },
      decimals: 0,
    },
    {
      code: '8310-5',
      display: 'Body temperature',
      canonicalUnit: 'Cel',
      units: { Cel: identity, '[degF]': fahrenheitToCelsius },
      // 14-47 Cel: survivors of accidental hypothermia at 13.7 Cel and of heat stroke at 46.5 Cel
      // are documented. A Fahrenheit value sent as Cel (98.6) lands above it, Cel sent as [degF]
      // (37 -> 2.8 Cel) below.
      plausible: { min: 14, max: 47 },
      // Two places, so a 0.1 [degF] reading converts back to the same [degF] value.
      decimals: 2,
    },
    {
      code: '8480-6',
      display: 'Systolic blood pressure',
      canonicalUnit: 'mm[Hg]',
      units: { 'mm[Hg]': identity },
      // 40-300: below 40 a cuff finds no pulse (profound shock); automated cuffs may not inflate
      // beyond 300 mm[Hg] (IEC 80601-2-30), so no cuff reading can lie above.
      plausible: { min: 40, max: 300 },
      decimals: 0,
    },
    {
      code: '8462-4',
      display: 'Diastolic blood pressure',
      canonicalUnit: 'mm[Hg]',
      units: { 'mm[Hg]': identity },
      // 10-200: severe aortic regurgitation and vasodilatory shock give diastolic values in the
      // teens; hypertensive emergencies stay well under 200.
      plausible: { min: 10, max: 200 },
      decimals: 0,
    },
    {
      code: '2339-0',
      display: 'Glucose [Mass/volume] in Blood',
      canonicalUnit: 'mg/dL',
      // mmol/L is strictly another LOINC code (15074-8); devices send either, and one stored unit
      // keeps trends and alert thresholds comparable.
      units: glucoseUnits,
      plausible: glucosePlausible,
      // Whole mg/dL: finer than 0.1 mmol/L (1.8 mg/dL), so a mmol/L reading converts back exactly.
      decimals: 0,
    },
    {
      code: '99504-3',
      display: 'Glucose [Mass/volume] in Interstitial fluid',
      canonicalUnit: 'mg/dL',
      units: glucoseUnits,
      plausible: glucosePlausible,
      decimals: 0,
    },
    {
      code: '29463-7',
      display: 'Body weight',
      canonicalUnit: 'kg',
      units: { kg: identity, '[lb_av]': poundsToKg, g: gramsToKg },
      // 0.2-650 kg: surviving newborns from about 0.21 kg and recorded adults above 600 kg;
      // grams sent as kg (3500) land above it.
      plausible: { min: 0.2, max: 650 },
      // Grams: the resolution of a neonatal scale.
      decimals: 3,
    },
  ].map(freezeCode),
);

const LOINC_FORMAT = /^\d{1,7}-\d$/;
// A UCUM code is printable ASCII without spaces (UCUM §1-§3); 40 characters holds any real unit.
const UCUM_FORMAT = /^[\x21-\x7e]{1,40}$/;
const MAX_DECIMALS = 6;

/**
 * The registry of known codes. A code outside it is refused at ingest unless an administrator
 * adds it with its units and plausible range. Entries are frozen copies, and their `units` have
 * no prototype, so a unit named "toString" or "__proto__" is simply unknown.
 */
export class CodeRegistry {
  private readonly codes = new Map<string, VitalCode>();

  constructor(codes: readonly VitalCode[] = CORE_VITAL_CODES) {
    for (const code of codes) this.add(code);
  }

  get(code: string): VitalCode | undefined {
    return this.codes.get(code);
  }

  /** Adds a code after checking it; throws VIGIL_ERR_REQUEST_INVALID naming the bad field. */
  add(code: VitalCode): void {
    validateVitalCode(code);
    if (this.codes.has(code.code)) invalid(`code ${code.code} is already registered`);
    this.codes.set(code.code, freezeCode(code));
  }

  list(): VitalCode[] {
    return [...this.codes.values()];
  }
}

/**
 * True when `code` is LOINC-shaped and its check digit (after the dash) is right. LOINC uses
 * the mod-10 (Luhn) check digit: a typo in an administrator's entry is caught here, not after
 * months of readings stored under a code that means something else.
 */
export function isLoincCode(code: string): boolean {
  if (!LOINC_FORMAT.test(code)) return false;
  const dash = code.length - 2;
  return loincCheckDigit(code.slice(0, dash)) === code.charCodeAt(dash + 1) - 0x30;
}

function loincCheckDigit(body: string): number {
  let sum = 0;
  for (let i = body.length - 1, doubled = true; i >= 0; i--, doubled = !doubled) {
    const digit = body.charCodeAt(i) - 0x30;
    const term = doubled ? digit * 2 : digit;
    sum += term > 9 ? term - 9 : term;
  }
  return (10 - (sum % 10)) % 10;
}

function validateVitalCode(input: VitalCode): void {
  if (typeof input !== 'object' || input === null) invalid('a vital code must be an object');
  const { code, display, canonicalUnit, plausible, decimals } = input;
  if (typeof code !== 'string' || !isLoincCode(code)) {
    invalid('code must be a LOINC code with its check digit, such as "8867-4"');
  }
  if (typeof display !== 'string' || display.trim() === '' || display.length > 200 || hasControl(display)) {
    invalid(`display of ${code} must be 1-200 printable characters`);
  }
  if (typeof canonicalUnit !== 'string' || !UCUM_FORMAT.test(canonicalUnit)) {
    invalid(`canonicalUnit of ${code} must be a UCUM code (printable ASCII, no spaces), such as "mm[Hg]"`);
  }
  validatePlausible(code, plausible);
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > MAX_DECIMALS) {
    invalid(`decimals of ${code} must be an integer from 0 to ${MAX_DECIMALS}`);
  }
  validateUnits(input);
}

function validatePlausible(code: string, plausible: VitalCode['plausible']): void {
  if (
    typeof plausible !== 'object' ||
    plausible === null ||
    !Number.isFinite(plausible.min) ||
    !Number.isFinite(plausible.max) ||
    plausible.min >= plausible.max
  ) {
    invalid(`plausible of ${code} must be { min, max } with finite numbers and min < max`);
  }
}

function validateUnits({ code, canonicalUnit, units, plausible }: VitalCode): void {
  if (typeof units !== 'object' || units === null || !Object.hasOwn(units, canonicalUnit)) {
    invalid(`units of ${code} must include the canonical unit "${canonicalUnit}"`);
  }
  for (const [unit, convert] of Object.entries(units)) {
    if (!UCUM_FORMAT.test(unit)) invalid(`unit "${unit.slice(0, 40)}" of ${code} is not a UCUM code`);
    if (typeof convert !== 'function') invalid(`unit "${unit}" of ${code} must map to a conversion function`);
  }
  // The canonical unit must store values unchanged, or every reading in it would be altered.
  const toCanonical = units[canonicalUnit];
  const mid = (plausible.min + plausible.max) / 2;
  for (const probe of [plausible.min, mid, plausible.max]) {
    if (toCanonical?.(probe) !== probe) {
      invalid(`unit "${canonicalUnit}" of ${code} is canonical, so its conversion must be identity`);
    }
  }
}

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function invalid(detail: string): never {
  throw new VigilError('VIGIL_ERR_REQUEST_INVALID', detail);
}

function freezeCode(code: VitalCode): VitalCode {
  const units: Record<string, UnitConversion> = Object.create(null);
  for (const [unit, convert] of Object.entries(code.units)) units[unit] = convert;
  return Object.freeze({
    code: code.code,
    display: code.display,
    canonicalUnit: code.canonicalUnit,
    units: Object.freeze(units),
    plausible: Object.freeze({ min: code.plausible.min, max: code.plausible.max }),
    decimals: code.decimals,
  });
}
