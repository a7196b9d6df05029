/** What `vigil posture ...` does, once posture-commands.ts has parsed its flags. */

import { AuditLog } from '../audit/audit-log.ts';
import { DeviceStore } from '../devices/devices.store.ts';
import { VigilError } from '../errors/catalogue.ts';
import { type ImportProgress, importAdvisoryPaths } from '../posture/advisory-import.ts';
import { PostureStore } from '../posture/posture.store.ts';
import { importSbom, modelFrom, postureReport } from '../posture/posture-service.ts';
import { type ReportFormat, renderReport } from '../posture/report-render.ts';
import { MAX_SBOM_BYTES } from '../posture/sbom.ts';
import type { NetworkZone } from '../posture/types.ts';
import { readBoundedText } from '../store/bounded-file.ts';
import { replaceFile, requireFolderOf } from '../store/replace-file.ts';
import { type CommonFlags, cliActor } from './context.ts';
import { openLocal } from './open-local.ts';
import { emit } from './output.ts';

export type ModelAddFlags = CommonFlags & {
  model: string;
  manufacturer: string;
  class: string;
  criticality: string;
  endOfSupport?: string;
  encryption: string;
  authentication: string;
  patchability: string;
};
export type DeviceProfileFlags = CommonFlags & {
  id: string;
  zone: NetworkZone;
  connection: 'mtls' | 'legacy';
  internetReachable?: boolean;
};
export type SbomImportFlags = CommonFlags & { model: string; firmware: string };
export type ReportFlags = CommonFlags & { format: ReportFormat; out?: string };

/** A progress bar on stderr, only when stderr is a terminal (pipes and CI logs stay clean). */
export function progressBar(
  stream: NodeJS.WriteStream = process.stderr,
): ((p: ImportProgress) => void) & { end(): void } {
  const isTty = stream.isTTY === true;
  let lastDraw = 0;
  const draw = (p: ImportProgress) => {
    if (!isTty) return;
    const now = Date.now();
    if (now - lastDraw < 100 && p.done < p.total) return;
    lastDraw = now;
    const width = 30;
    const ratio = p.total === 0 ? 1 : p.done / p.total;
    const filled = Math.round(ratio * width);
    const name = p.file.length > 40 ? `…${p.file.slice(-39)}` : p.file;
    stream.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}%  file ${p.fileIndex + 1}/${p.files} ${name} ${p.done}/${p.total}\x1b[K`,
    );
  };
  return Object.assign(draw, { end: () => (isTty && lastDraw > 0 ? void stream.write('\n') : undefined) });
}

export async function postureModelAdd(o: ModelAddFlags): Promise<void> {
  const m = modelFrom({ ...o, deviceClass: o.class });
  const { store } = await openLocal(o);
  try {
    const outcome = await new PostureStore(store.db).upsertModel(m);
    await new AuditLog(store.db).append({
      actor: cliActor(),
      action: 'posture.model.put',
      resource: `DeviceModel/${m.model}`,
      outcome: 'success',
    });
    emit(o, { model: m.model, outcome }, [`model ${m.model} ${outcome}`], m.model);
  } finally {
    await store.close();
  }
}

export async function postureDeviceProfile(o: DeviceProfileFlags): Promise<void> {
  const { store } = await openLocal(o);
  try {
    await new DeviceStore(store.db).require(o.id);
    await new PostureStore(store.db).setProfile({
      deviceId: o.id,
      zone: o.zone,
      connection: o.connection,
      internetReachable: o.internetReachable === true,
    });
    await new AuditLog(store.db).append({
      actor: cliActor(),
      action: 'posture.profile.put',
      resource: `Device/${o.id}`,
      outcome: 'success',
    });
    emit(
      o,
      { id: o.id, zone: o.zone, connection: o.connection },
      [`device ${o.id}: zone ${o.zone}, ${o.connection}`],
      o.id,
    );
  } finally {
    await store.close();
  }
}

export async function postureSbomImport(file: string, o: SbomImportFlags): Promise<void> {
  const text = readBoundedText(file, MAX_SBOM_BYTES, 'SBOM', {
    whenTooLarge: 'check that it is the SBOM of one firmware',
  });
  const { store } = await openLocal(o);
  try {
    const r = await importSbom(new PostureStore(store.db), {
      model: o.model,
      firmware: o.firmware,
      text,
      source: file,
    });
    await new AuditLog(store.db).append({
      actor: cliActor(),
      action: 'posture.sbom.import',
      resource: `Sbom/${o.model}@${o.firmware}`,
      outcome: 'success',
    });
    emit(
      o,
      { ...r },
      [
        `${r.format} SBOM for ${r.model} ${r.firmware}: ${r.components} components, ${r.outcome}; VEX ${r.vex.inserted} new`,
      ],
      r.outcome,
    );
  } finally {
    await store.close();
  }
}

export async function postureAdvisoriesImport(paths: string[], o: CommonFlags): Promise<void> {
  const { store } = await openLocal(o);
  const bar = progressBar();
  try {
    const r = await importAdvisoryPaths(new PostureStore(store.db, store.sqlite), paths, bar);
    bar.end();
    await new AuditLog(store.db).append({
      actor: cliActor(),
      action: 'posture.advisories.import',
      resource: `AdvisoryFiles/${r.files}`,
      outcome: r.errors.length ? 'failure' : 'success',
    });
    const line = (name: string, c: { inserted: number; updated: number; unchanged: number }) =>
      `${name}: ${c.inserted} new, ${c.updated} updated, ${c.unchanged} unchanged`;
    if (o.json) emit(o, { ...r }, []);
    else {
      emit(o, {}, [
        `${r.files} files (${r.skippedFiles} already imported)${r.skippedEntries > 0 ? `; ${r.skippedEntries} symbolic link(s) or special file(s) skipped` : ''}`,
        line('advisories', r.advisories),
        line('KEV', r.kev),
        line('EPSS', r.epss),
        line('VEX', r.vex),
      ]);
    }
    if (r.errors.length > 0) {
      throw new VigilError(
        'VIGIL_ERR_POSTURE_BAD_ADVISORY',
        `${r.errors.length} file(s) refused; first: ${r.errors[0]}`,
      );
    }
  } finally {
    await store.close();
  }
}

export async function writePostureReport(o: ReportFlags): Promise<void> {
  if (o.out) requireFolderOf(o.out);
  const { store } = await openLocal(o);
  try {
    const report = await postureReport(new PostureStore(store.db));
    await new AuditLog(store.db).append({
      actor: cliActor(),
      action: 'posture.report',
      resource: 'PostureReport',
      outcome: 'success',
    });
    const format = o.json ? 'json' : o.format;
    const text = renderReport(report, format);
    if (o.out) {
      replaceFile(o.out, text, 0o640);
      emit(
        o,
        { out: o.out, devices: report.summary.devices, findings: report.summary.findings },
        [`report written to ${o.out}`],
        o.out,
      );
    } else process.stdout.write(text);
  } finally {
    await store.close();
  }
}
