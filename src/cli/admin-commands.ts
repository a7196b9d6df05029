import { type Command, InvalidArgumentError } from 'commander';
import { isValidId } from '../errors/ids.ts';
import type {
  DeviceAddFlags,
  DeviceAssignFlags,
  DeviceCrlFlags,
  DeviceEnrollFlags,
  DeviceRenewFlags,
  DeviceTokenFlags,
  PatientAddFlags,
  PatientEraseFlags,
  TokenCreateFlags,
} from './admin-actions.ts';
import { type CommonFlags, withCommon } from './context.ts';
import type { DeviceIdFlags, DeviceReasonFlags } from './device-actions.ts';
import { registerPatientExport } from './export-commands.ts';
import type { TokenIdFlags } from './token-actions.ts';

// Each action loads admin-actions.ts (the store, the CA, the enrol client) only when it runs.

/** The API's rule for a device id (errors/ids.ts), so a typo is named before the store opens. */
function deviceIdOption(value: string): string {
  if (!isValidId(value))
    throw new InvalidArgumentError(
      `"${value.slice(0, 64)}" is not a device id (1-64 letters, digits, . _ -); "vigil device list" shows the ids`,
    );
  return value;
}

/** As the API's revoke and quarantine bodies: 3 to 500 characters, recorded in the audit trail. */
function reasonOption(value: string): string {
  if (value.trim().length < 3 || value.length > 500)
    throw new InvalidArgumentError('--reason must say why in 3 to 500 characters, e.g. "reported stolen"');
  return value;
}

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('API tokens for integrations');
  withCommon(token.command('create').description('create a scoped bearer token (printed once)'))
    .requiredOption('--role <role>', 'admin, security, clinician, auditor, patient or integration')
    .requiredOption('--name <name>', 'who or what uses the token')
    .option('--ttl <duration>', 'lifetime such as 30m, 12h, 90d', '1h')
    .action(async (o: TokenCreateFlags) => (await import('./admin-actions.ts')).tokenCreate(o));

  withCommon(
    token.command('list').description('list API tokens: id, name, role, scopes, dates (never secrets)'),
  ).action(async (o: CommonFlags) => (await import('./token-actions.ts')).tokenList(o));

  withCommon(
    token
      .command('revoke')
      .description('revoke an API token at once (a running server refuses it within 5 s); audited'),
  )
    // Checked in the action (token-id.ts): a refusal here would quote a pasted secret.
    .requiredOption('--id <id>', 'token id ("vigil token list" shows them), or the leaked vgl_ token itself')
    .action(async (o: TokenIdFlags) => (await import('./token-actions.ts')).tokenRevoke(o));
}

export function registerPatientCommands(program: Command): void {
  const patient = program.command('patient').description('patients');
  withCommon(
    patient
      .command('erase')
      .description('erase a patient: destroy their data key so their data can never be read again (audited)'),
  )
    .requiredOption('--id <id>', 'patient id')
    .requiredOption('--reason <text>', 'why (recorded in the audit trail), e.g. "GDPR art. 17 request #123"')
    .requiredOption('--yes', 'confirm: erasure cannot be undone')
    .action(async (o: PatientEraseFlags) => (await import('./admin-actions.ts')).patientErase(o));
  registerPatientExport(patient);
  withCommon(patient.command('add').description('register a patient (identity sealed with their own key)'))
    .requiredOption('--id <id>', 'patient id (a pseudonym; letters, digits, . _ -)')
    .requiredOption('--name <name>', 'full name')
    .option('--birth-date <YYYY-MM-DD>', 'date of birth')
    .action(async (o: PatientAddFlags) => (await import('./admin-actions.ts')).patientAdd(o));
}

export function registerDeviceCommands(program: Command): void {
  const device = program.command('device').description('devices');
  withCommon(device.command('add').description('register a device and print its one-time enrollment token'))
    .requiredOption('--id <id>', 'device id (becomes the certificate CN)')
    .requiredOption('--model <model>', 'device model')
    .requiredOption('--serial <serial>', 'serial number')
    .option('--patient <id>', 'assign to this patient from now on')
    .action(async (o: DeviceAddFlags) => (await import('./admin-actions.ts')).deviceAdd(o));

  withCommon(device.command('assign').description('the device measures this patient from now on'))
    .requiredOption('--id <id>', 'device id')
    .requiredOption('--patient <id>', 'patient id')
    .action(async (o: DeviceAssignFlags) => (await import('./admin-actions.ts')).deviceAssign(o));

  withCommon(device.command('token').description('issue a new one-time enrollment token (re-enrolment)'))
    .requiredOption('--id <id>', 'device id')
    .action(async (o: DeviceTokenFlags) => (await import('./admin-actions.ts')).deviceToken(o));

  withCommon(
    device
      .command('renew')
      .description('device side: a new key and certificate, proven by the current one (the old is revoked)'),
  )
    .requiredOption(
      '--dir <dir>',
      'the directory "vigil device enroll --out" wrote (device.key, device.crt, ca.crt)',
    )
    .option('--server <url>', 'Vigil HTTPS address (default https://VIGIL_HOST:VIGIL_HTTP_PORT)')
    .action(async (o: DeviceRenewFlags) => (await import('./admin-actions.ts')).deviceRenew(o));

  withCommon(
    device
      .command('crl')
      .description(
        "write the device CA's revocation list (PEM; for an external broker's crlfile, renew daily)",
      ),
  )
    .requiredOption('--out <file>', 'where to write it (replaced atomically)')
    .option('--der', 'write DER instead of PEM')
    .action(async (o: DeviceCrlFlags) => (await import('./admin-actions.ts')).deviceCrl(o));

  withCommon(
    device.command('enroll').description('device side: make a key, send a CSR, write the certificate'),
  )
    .requiredOption('--id <id>', 'device id')
    .requiredOption('--token <token>', 'one-time enrollment token from "vigil device add"')
    .requiredOption('--out <dir>', 'where to write device.key, device.crt and ca.crt')
    .option('--server <url>', 'Vigil HTTPS address (default https://VIGIL_HOST:VIGIL_HTTP_PORT)')
    .option('--ca <file>', "Vigil's CA certificate to trust (default: <data-dir>/ca.crt)")
    .action(async (o: DeviceEnrollFlags) => (await import('./admin-actions.ts')).deviceEnroll(o));

  registerIncidentCommands(device);
}

const PICKED_UP = `
A running server (same data dir) notices the change within about a second and disconnects the
device; if none runs, it starts with the change in force.`;

/** What an operator at the console does to a device in an incident, as the API's routes do. */
function registerIncidentCommands(device: Command): void {
  withCommon(
    device.command('list').description('list devices: status, enrolment, last seen, patient'),
  ).action(async (o: CommonFlags) => (await import('./device-actions.ts')).deviceList(o));

  withCommon(
    device
      .command('revoke')
      .description(
        "revoke the device's certificates and spend its enrollment tokens: refused until it enrols again (audited)",
      ),
  )
    .requiredOption('--id <id>', 'device id', deviceIdOption)
    .requiredOption(
      '--reason <text>',
      'why (recorded in the audit trail), e.g. "reported stolen"',
      reasonOption,
    )
    .addHelpText('after', PICKED_UP)
    .action(async (o: DeviceReasonFlags) => (await import('./device-actions.ts')).deviceRevoke(o));

  withCommon(
    device
      .command('quarantine')
      .description('quarantine a device: disconnected and refused until released (reversible)'),
  )
    .requiredOption('--id <id>', 'device id', deviceIdOption)
    .requiredOption(
      '--reason <text>',
      'why (recorded in the audit trail), e.g. "beaconing to 203.0.113.9"',
      reasonOption,
    )
    .addHelpText(
      'after',
      `${PICKED_UP}
The audit entry, the security event and the webhooks are written by the server's relay from
the change, once: within about a second if a server runs, otherwise at its next start.`,
    )
    .action(async (o: DeviceReasonFlags) => (await import('./device-actions.ts')).deviceQuarantine(o));

  withCommon(device.command('release').description('release a quarantined device: it may connect again'))
    .requiredOption('--id <id>', 'device id', deviceIdOption)
    .addHelpText(
      'after',
      `
A device that is not quarantined is left as it is (exit 0). The audit entry and the webhooks
are written by the server's relay: within about a second if a server runs, otherwise at its
next start.`,
    )
    .action(async (o: DeviceIdFlags) => (await import('./device-actions.ts')).deviceRelease(o));
}
