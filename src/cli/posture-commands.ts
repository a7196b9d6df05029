import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { AuditLog } from '../audit/audit-log.ts';
import { DeviceStore } from '../devices/devices.store.ts';
import { VigilError } from '../errors/catalogue.ts';
import { type ImportProgress, importAdvisoryPaths } from '../posture/advisory-import.ts';
import { PostureStore } from '../posture/posture.store.ts';
import { importSbom, modelFrom, postureReport } from '../posture/posture-service.ts';
import { REPORT_FORMATS, type ReportFormat, renderReport } from '../posture/report-render.ts';
import { MAX_SBOM_BYTES } from '../posture/sbom.ts';
import { AUTHENTICATIONS, CRITICALITIES, ENCRYPTIONS, PATCHABILITIES, ZONES } from '../posture/types.ts';
import { type CommonFlags, openLocal, withCommon } from './context.ts';
import { emit } from './output.ts';

const actor = () => `cli:${process.env.USER ?? 'operator'}`;

function choice<T extends string>(name: string, allowed: readonly T[]) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`${name} must be one of: ${allowed.join(', ')}`);
    }
    return value as T;
  };
}

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

function readInput(file: string, maxBytes: number): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new VigilError('VIGIL_ERR_REQUEST_INVALID', `${file} does not exist or cannot be read`);
  }
  if (size > maxBytes)
    throw new VigilError('VIGIL_ERR_REQUEST_INVALID', `${file} is ${size} bytes, more than ${maxBytes}`);
  return readFileSync(file, 'utf8');
}

export function registerPostureCommands(program: Command): void {
  const posture = program
    .command('posture')
    .description('fleet security posture: inventory, SBOMs, advisories, risk');

  const model = posture.command('model').description('device models in the posture inventory');
  withCommon(
    model.command('add').description('add or update a device model with MDS2-style security capabilities'),
  )
    .requiredOption('--model <name>', 'model name, as devices are registered with (vigil device add --model)')
    .requiredOption('--manufacturer <name>', 'manufacturer, as its advisories name it')
    .requiredOption('--class <class>', 'device class, e.g. "infusion pump" or "IIb"')
    .requiredOption('--criticality <level>', CRITICALITIES.join(', '), choice('--criticality', CRITICALITIES))
    .option('--end-of-support <YYYY-MM-DD>', 'date the manufacturer stops security support')
    .option('--encryption <kind>', ENCRYPTIONS.join(', '), choice('--encryption', ENCRYPTIONS), 'in-transit')
    .option(
      '--authentication <kind>',
      AUTHENTICATIONS.join(', '),
      choice('--authentication', AUTHENTICATIONS),
      'certificate',
    )
    .option(
      '--patchability <kind>',
      PATCHABILITIES.join(', '),
      choice('--patchability', PATCHABILITIES),
      'manual',
    )
    .action(
      async (
        o: CommonFlags & {
          model: string;
          manufacturer: string;
          class: string;
          criticality: string;
          endOfSupport?: string;
          encryption: string;
          authentication: string;
          patchability: string;
        },
      ) => {
        const m = modelFrom({ ...o, deviceClass: o.class });
        const { store } = await openLocal(o);
        try {
          const outcome = await new PostureStore(store.db).upsertModel(m);
          await new AuditLog(store.db).append({
            actor: actor(),
            action: 'posture.model.put',
            resource: `DeviceModel/${m.model}`,
            outcome: 'success',
          });
          emit(o, { model: m.model, outcome }, [`model ${m.model} ${outcome}`], m.model);
        } finally {
          await store.close();
        }
      },
    );

  const device = posture.command('device').description('device exposure for risk scoring');
  withCommon(device.command('profile').description("record a device's network zone and connection security"))
    .requiredOption('--id <id>', 'device id')
    .requiredOption('--zone <zone>', ZONES.join(', '), choice('--zone', ZONES))
    .option(
      '--connection <kind>',
      'mtls or legacy',
      choice('--connection', ['mtls', 'legacy'] as const),
      'mtls',
    )
    .option('--internet-reachable', 'the device can be reached from the internet')
    .action(
      async (
        o: CommonFlags & {
          id: string;
          zone: (typeof ZONES)[number];
          connection: 'mtls' | 'legacy';
          internetReachable?: boolean;
        },
      ) => {
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
            actor: actor(),
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
      },
    );

  const sbom = posture.command('sbom').description('software bills of materials per model and firmware');
  withCommon(
    sbom.command('import').description('import a CycloneDX 1.4-1.6 (JSON/XML) or SPDX 2.3 (JSON) SBOM'),
  )
    .argument('<file>', 'SBOM file')
    .requiredOption('--model <name>', 'device model the firmware belongs to')
    .requiredOption('--firmware <version>', 'firmware version the SBOM describes')
    .action(async (file: string, o: CommonFlags & { model: string; firmware: string }) => {
      const text = readInput(file, MAX_SBOM_BYTES);
      const { store } = await openLocal(o);
      try {
        const r = await importSbom(new PostureStore(store.db), {
          model: o.model,
          firmware: o.firmware,
          text,
          source: file,
        });
        await new AuditLog(store.db).append({
          actor: actor(),
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
    });

  const advisories = posture.command('advisories').description('vulnerability advisories (offline)');
  withCommon(
    advisories
      .command('import')
      .description('import OSV, CSAF 2.0, CISA KEV, EPSS CSV files or folders; idempotent and resumable'),
  )
    .argument('<paths...>', 'files or folders')
    .action(async (paths: string[], o: CommonFlags) => {
      const { store } = await openLocal(o);
      const bar = progressBar();
      try {
        const r = await importAdvisoryPaths(new PostureStore(store.db, store.sqlite), paths, bar);
        bar.end();
        await new AuditLog(store.db).append({
          actor: actor(),
          action: 'posture.advisories.import',
          resource: `AdvisoryFiles/${r.files}`,
          outcome: r.errors.length ? 'failure' : 'success',
        });
        const line = (name: string, c: { inserted: number; updated: number; unchanged: number }) =>
          `${name}: ${c.inserted} new, ${c.updated} updated, ${c.unchanged} unchanged`;
        if (o.json) emit(o, { ...r }, []);
        else {
          emit(o, {}, [
            `${r.files} files (${r.skippedFiles} already imported)`,
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
    });

  withCommon(
    posture.command('report').description('fleet posture report: devices, findings, risk and what to do'),
  )
    .option('--format <format>', REPORT_FORMATS.join(', '), choice('--format', REPORT_FORMATS), 'md')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (o: CommonFlags & { format: ReportFormat; out?: string }) => {
      const { store } = await openLocal(o);
      try {
        const report = await postureReport(new PostureStore(store.db));
        await new AuditLog(store.db).append({
          actor: actor(),
          action: 'posture.report',
          resource: 'PostureReport',
          outcome: 'success',
        });
        const format = o.json ? 'json' : o.format;
        const text = renderReport(report, format);
        if (o.out) {
          writeFileSync(o.out, text, { mode: 0o640 });
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
    });
}
