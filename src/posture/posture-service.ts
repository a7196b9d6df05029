/** The posture domain's operations, shared by the CLI and the HTTP API. */

import { calendarDayMs } from '../errors/calendar-date.ts';
import { VigilError } from '../errors/catalogue.ts';
import { type AssessmentInput, assess, type PostureReport } from './assessment.ts';
import { AdvisoryIndex, componentKeys } from './matcher.ts';
import type { PostureStore, WriteCounts, WriteOutcome } from './posture.store.ts';
import { sha256 } from './posture.store.ts';
import { parseSbom } from './sbom.ts';
import {
  AUTHENTICATIONS,
  CRITICALITIES,
  type DeviceModel,
  ENCRYPTIONS,
  PATCHABILITIES,
  type VexStatement,
} from './types.ts';
import { VexIndex } from './vex.ts';

const bad = (detail: string) => new VigilError('VIGIL_ERR_REQUEST_INVALID', detail);

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw bad(`${name} "${value.slice(0, 40)}" is not one of: ${allowed.join(', ')}`);
  return value as T;
}

function text(name: string, value: string, max = 128): string {
  if (value.trim() === '' || value.length > max) throw bad(`${name} must be 1-${max} characters`);
  return value;
}

function calendarDateMs(name: string, value: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value))
    throw bad(`${name} "${value.slice(0, 20)}" must be a date YYYY-MM-DD`);
  const ms = calendarDayMs(value);
  if (ms === undefined)
    throw bad(`${name} "${value}" is not a day in the calendar; check the month and day (YYYY-MM-DD)`);
  return ms;
}

/** Validates what an operator typed (CLI flags or API body) into a device model. */
export function modelFrom(input: {
  model: string;
  manufacturer: string;
  deviceClass: string;
  criticality: string;
  endOfSupport?: string | null | undefined;
  encryption: string;
  authentication: string;
  patchability: string;
}): DeviceModel {
  const endOfSupportMs = input.endOfSupport ? calendarDateMs('end of support', input.endOfSupport) : null;
  return {
    model: text('model', input.model),
    manufacturer: text('manufacturer', input.manufacturer),
    deviceClass: text('device class', input.deviceClass, 64),
    criticality: oneOf('criticality', input.criticality, CRITICALITIES),
    endOfSupportMs,
    encryption: oneOf('encryption', input.encryption, ENCRYPTIONS),
    authentication: oneOf('authentication', input.authentication, AUTHENTICATIONS),
    patchability: oneOf('patchability', input.patchability, PATCHABILITIES),
  };
}

export interface SbomImportResult {
  model: string;
  firmware: string;
  format: string;
  components: number;
  outcome: WriteOutcome;
  vex: WriteCounts;
}

export async function importSbom(
  store: PostureStore,
  input: { model: string; firmware: string; text: string; source: string },
): Promise<SbomImportResult> {
  text('firmware', input.firmware, 64);
  const models = await store.models();
  if (!models.some((m) => m.model === input.model)) {
    throw new VigilError(
      'VIGIL_ERR_POSTURE_UNKNOWN_MODEL',
      `model "${input.model.slice(0, 64)}" is not in the posture inventory; add it first with "vigil posture model add"`,
    );
  }
  const sbom = await parseSbom(input.text, input.source);
  const outcome = await store.putSbom(input.model, input.firmware, sbom, sha256(input.text));
  // SBOM-embedded VEX speaks of component refs; bind each to this model, firmware and package.
  const byRef = new Map(sbom.components.flatMap((c) => (c.ref ? [[c.ref, c] as const] : [])));
  const vex: VexStatement[] = sbom.vex.flatMap((v) => {
    const refs = v.componentRefs.length > 0 ? v.componentRefs : [null];
    return refs.map((ref) => {
      const c = ref === null ? undefined : byRef.get(ref);
      return {
        vulnerability: v.vulnerability,
        status: v.status,
        model: input.model,
        firmware: input.firmware,
        componentKey: c ? (componentKeys(c)[0]?.key ?? null) : null,
        justification: v.justification,
        source: `sbom:${input.model}@${input.firmware}`,
      };
    });
  });
  const vexCounts = await store.putVex(vex);
  return {
    model: input.model,
    firmware: input.firmware,
    format: sbom.format,
    components: sbom.components.length,
    outcome,
    vex: vexCounts,
  };
}

export async function loadAssessmentInput(store: PostureStore, nowMs = Date.now()): Promise<AssessmentInput> {
  const [models, inventory, sboms, advisories, kev, epss, vex] = await Promise.all([
    store.models(),
    store.inventory(),
    store.sboms(),
    store.advisories(),
    store.kev(),
    store.epss(),
    store.vex(),
  ]);
  return {
    models,
    inventory,
    sboms,
    index: new AdvisoryIndex(advisories),
    kev,
    epss,
    vex: new VexIndex(vex),
    nowMs,
  };
}

export async function postureReport(store: PostureStore, nowMs = Date.now()): Promise<PostureReport> {
  return assess(await loadAssessmentInput(store, nowMs));
}
