import { type Command, InvalidArgumentError } from 'commander';
import { REPORT_FORMATS } from '../posture/report-render.ts';
import { AUTHENTICATIONS, CRITICALITIES, ENCRYPTIONS, PATCHABILITIES, ZONES } from '../posture/types.ts';
import { type CommonFlags, withCommon } from './context.ts';
import type { DeviceProfileFlags, ModelAddFlags, ReportFlags, SbomImportFlags } from './posture-actions.ts';

function choice<T extends string>(name: string, allowed: readonly T[]) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`${name} must be one of: ${allowed.join(', ')}`);
    }
    return value as T;
  };
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
    .action(async (o: ModelAddFlags) => (await import('./posture-actions.ts')).postureModelAdd(o));

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
    .action(async (o: DeviceProfileFlags) => (await import('./posture-actions.ts')).postureDeviceProfile(o));

  const sbom = posture.command('sbom').description('software bills of materials per model and firmware');
  withCommon(
    sbom.command('import').description('import a CycloneDX 1.4-1.6 (JSON/XML) or SPDX 2.3 (JSON) SBOM'),
  )
    .argument('<file>', 'SBOM file')
    .requiredOption('--model <name>', 'device model the firmware belongs to')
    .requiredOption('--firmware <version>', 'firmware version the SBOM describes')
    .action(async (file: string, o: SbomImportFlags) =>
      (await import('./posture-actions.ts')).postureSbomImport(file, o),
    );

  const advisories = posture.command('advisories').description('vulnerability advisories (offline)');
  withCommon(
    advisories
      .command('import')
      .description('import OSV, CSAF 2.0, CISA KEV, EPSS CSV files or folders; idempotent and resumable'),
  )
    .argument('<paths...>', 'files or folders')
    .action(async (paths: string[], o: CommonFlags) =>
      (await import('./posture-actions.ts')).postureAdvisoriesImport(paths, o),
    );

  withCommon(
    posture.command('report').description('fleet posture report: devices, findings, risk and what to do'),
  )
    .option('--format <format>', REPORT_FORMATS.join(', '), choice('--format', REPORT_FORMATS), 'md')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (o: ReportFlags) => (await import('./posture-actions.ts')).writePostureReport(o));
}
