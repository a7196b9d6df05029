import { isIP } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { VigilError } from '../errors/catalogue.ts';
import { parseEmailAddress } from '../notify/email-address.ts';
import { parseSmtpUrl } from '../notify/email-smtp-url.ts';
import { readBoundedText } from '../store/bounded-file.ts';
import { parseWholeSetting } from './decimal.ts';

/** The validated, frozen configuration every module receives; no module reads process.env. */
export interface VigilConfig {
  readonly dataDir: string;
  readonly host: string;
  readonly httpPort: number;
  readonly mqttPort: number;
  readonly databaseUrl: string | undefined;
  readonly mqttUrl: string | undefined;
  /** Stream audit entries to a SIEM: udp://, tcp:// or tls://host:port (RFC 5424). */
  readonly syslogUrl: string | undefined;
  readonly masterKeyFile: string;
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly ingest: {
    readonly maxPayloadBytes: number;
    readonly groupCommitMs: number;
    readonly groupCommitMaxMessages: number;
    readonly maxFutureSeconds: number;
    readonly maxBackfillDays: number;
  };
  /** Alert e-mails: smtp:// (STARTTLS required unless ?tls=off) or smtps://; unset: no e-mail. */
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string | undefined;
  /** Base of links in notifications; unset: https://<host>:<httpPort> of the running server. */
  readonly publicUrl: string | undefined;
  /** Webhooks may use http:// to a loopback address (local receivers, tests); https otherwise. */
  readonly webhooksAllowLoopbackHttp: boolean;
  readonly enrollmentTokenTtlSeconds: number;
  readonly deviceCertValidityDays: number;
  /**
   * Refused or undecided enrolment attempts a source (an IPv4 address or IPv6 /64; a device,
   * for renewals) may make in a minute before it is answered 429. Raise it when many devices
   * enrol at once from behind one NAT gateway.
   */
  readonly enrollRefusalsPerMinute: number;
  /**
   * Days a finished notification row (an e-mail or webhook delivery sent or given up, a device
   * event every relay has passed) is kept before it is pruned (src/notify/outbox-retention.ts).
   */
  readonly notifyRetentionDays: number;
}

type Source = 'default' | 'file' | 'env' | 'flag';
type RawValue = { value: unknown; source: Source; name: string };

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Names of config fields as they appear in a config file (JSON) and their environment variable. */
const FIELDS = {
  dataDir: { env: 'VIGIL_DATA_DIR' },
  host: { env: 'VIGIL_HOST' },
  httpPort: { env: 'VIGIL_HTTP_PORT' },
  mqttPort: { env: 'VIGIL_MQTT_PORT' },
  databaseUrl: { env: 'VIGIL_DATABASE_URL' },
  mqttUrl: { env: 'VIGIL_MQTT_URL' },
  syslogUrl: { env: 'VIGIL_SYSLOG_URL' },
  masterKeyFile: { env: 'VIGIL_MASTER_KEY_FILE' },
  tlsCertFile: { env: 'VIGIL_TLS_CERT' },
  tlsKeyFile: { env: 'VIGIL_TLS_KEY' },
  logLevel: { env: 'VIGIL_LOG_LEVEL' },
  smtpUrl: { env: 'VIGIL_SMTP_URL' },
  mailFrom: { env: 'VIGIL_MAIL_FROM' },
  publicUrl: { env: 'VIGIL_PUBLIC_URL' },
  webhooksAllowLoopbackHttp: { env: 'VIGIL_WEBHOOKS_ALLOW_LOOPBACK_HTTP' },
  enrollRefusalsPerMinute: { env: 'VIGIL_ENROLL_REFUSALS_PER_MINUTE' },
  notifyRetentionDays: { env: 'VIGIL_NOTIFY_RETENTION_DAYS' },
} as const;
type TopField = keyof typeof FIELDS;

export interface ConfigInput {
  env?: Record<string, string | undefined>;
  configFile?: string | undefined;
  flags?: Partial<Record<TopField, string | number | undefined>>;
  cwd?: string;
}

function fail(where: RawValue, problem: string, fix: string): never {
  const origin =
    where.source === 'env'
      ? `${where.name}=${String(where.value)}`
      : where.source === 'flag'
        ? `--${where.name} ${String(where.value)}`
        : `${where.name}: ${JSON.stringify(where.value)}`;
  throw new VigilError('VIGIL_ERR_CONFIG_INVALID', `${origin} ${problem}; ${fix}`);
}

/** A port: decimal digits or a JSON integer, 0-65535 (0: any free port); see parseDecimal. */
export function parsePort(value: unknown): number | undefined {
  return parseWholeSetting(value, 0, 65535);
}

function port(raw: RawValue): number {
  const n = parsePort(raw.value);
  if (n === undefined) {
    fail(
      raw,
      'is not a port (1-65535, or 0 for any free port)',
      'set a whole number in that range, in decimal digits',
    );
  }
  return n;
}

/**
 * A URL as it may be shown in a message: user info (a password) and the query (libpq takes
 * ?password=) become ***. Works on text that is not a valid URL too, since that is when it is shown.
 */
export function redactUrl(value: string): string {
  const at = value.lastIndexOf('@');
  const slashes = value.indexOf('//');
  // With no "//" before the "@", the whole start may be user info (a mistyped "postgres:u:pw@db").
  const authority = slashes !== -1 && slashes < at ? slashes + 2 : 0;
  const withoutUser = at === -1 ? value : `${value.slice(0, authority)}***${value.slice(at)}`;
  const query = withoutUser.search(/[?#]/);
  return query === -1 ? withoutUser : `${withoutUser.slice(0, query)}?***`;
}

function text(raw: RawValue, max = 4096): string {
  if (typeof raw.value !== 'string' || raw.value.trim() === '' || raw.value.length > max) {
    fail(raw, 'must be a non-empty string', 'set a value or remove the setting');
  }
  return raw.value;
}

function describeUrlValue(value: unknown): string {
  if (typeof value === 'string') return redactUrl(value).slice(0, 200);
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** Messages about a URL show it redacted: these URLs carry database and broker passwords. */
function url(raw: RawValue, schemes: readonly string[], opts: { hostInQuery?: boolean } = {}): string {
  const shown: RawValue = { ...raw, value: describeUrlValue(raw.value) };
  if (typeof raw.value !== 'string' || raw.value.trim() === '' || raw.value.length > 4096) {
    fail(shown, 'must be a non-empty URL string', 'set a value or remove the setting');
  }
  const value = raw.value;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    fail(shown, 'is not a URL', `use ${schemes.map((s) => `${s}//...`).join(' or ')}`);
  }
  if (!schemes.includes(parsed.protocol)) {
    fail(shown, `has scheme ${parsed.protocol}`, `use ${schemes.join(' or ')}`);
  }
  // new URL() takes "udp://" or "mqtts://:8883" with an empty host, and a client then quietly
  // connects to its default (localhost): audit entries would go nowhere anyone looks.
  if (parsed.hostname === '' && !(opts.hostInQuery === true && parsed.searchParams.has('host'))) {
    fail(shown, 'names no host', `use ${parsed.protocol}//host:port`);
  }
  return value;
}

/**
 * A DNS name (RFC 1123 §2.1: labels of 1-63 letters, digits and hyphens, not starting or ending
 * with a hyphen; 253 characters in all) whose last label is not all digits, so a mistyped IPv4
 * address such as 10.0.0.256 is not taken for a name.
 */
export function isDnsName(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  const labels = value.split('.');
  const label = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
  return labels.every((l) => label.test(l)) && !/^[0-9]+$/.test(labels[labels.length - 1] as string);
}

/** What VIGIL_HOST may be: an IPv4 or IPv6 address, or a DNS name. */
export function isListenHost(value: string): boolean {
  return isIP(value) !== 0 || isDnsName(value);
}

function bool(raw: RawValue): boolean {
  const v = typeof raw.value === 'string' ? raw.value.trim().toLowerCase() : raw.value;
  if (v === true || v === 'true' || v === '1') return true;
  if (v === false || v === 'false' || v === '0') return false;
  return fail(raw, 'is not a yes/no value', 'use true or false');
}

/** The SMTP settings, checked now so a bad URL stops start-up; the password never reaches a message. */
function smtpSection(
  smtpRaw: RawValue | undefined,
  fromRaw: RawValue | undefined,
): { smtpUrl: string | undefined; mailFrom: string | undefined } {
  const mailFrom = fromRaw ? parseEmailAddress(text(fromRaw, 254)) : undefined;
  if (fromRaw && !mailFrom) fail(fromRaw, 'is not an e-mail address', 'use e.g. vigil@hospital.example');
  if (!smtpRaw) return { smtpUrl: undefined, mailFrom };
  if (typeof smtpRaw.value !== 'string') {
    throw new VigilError('VIGIL_ERR_CONFIG_INVALID', 'VIGIL_SMTP_URL must be a string');
  }
  parseSmtpUrl(smtpRaw.value);
  if (!mailFrom) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      'VIGIL_SMTP_URL is set but VIGIL_MAIL_FROM is not; set the sender address, e.g. vigil@hospital.example',
    );
  }
  return { smtpUrl: smtpRaw.value, mailFrom };
}

/** A config file holds a few dozen settings; anything near this is the wrong file. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

function readConfigFile(path: string): Record<string, unknown> {
  const text = readBoundedText(path, MAX_CONFIG_FILE_BYTES, 'config file', {
    code: 'VIGIL_ERR_CONFIG_INVALID',
    whenTooLarge: 'check the --config path',
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `config file ${path} is not valid JSON (${(e as Error).message})`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new VigilError('VIGIL_ERR_CONFIG_INVALID', `config file ${path} must hold a JSON object`);
  }
  const allowed = new Set<string>([...Object.keys(FIELDS), 'ingest']);
  for (const key of Object.keys(parsed)) {
    if (!allowed.has(key)) {
      throw new VigilError(
        'VIGIL_ERR_CONFIG_INVALID',
        `config file ${path} has unknown field "${key.slice(0, 40)}"; known fields: ${[...allowed].join(', ')}`,
      );
    }
  }
  return parsed as Record<string, unknown>;
}

function wholeSetting(raw: RawValue, min: number, max: number): number {
  const n = parseWholeSetting(raw.value, min, max);
  if (n === undefined) {
    fail(raw, `must be a whole number from ${min} to ${max}`, 'set one in decimal digits');
  }
  return n;
}

function ingestSection(file: Record<string, unknown>): VigilConfig['ingest'] {
  const defaults = {
    maxPayloadBytes: 64 * 1024,
    // 0: a batch goes to the idle writer thread at once; while it is busy, batches gather anyway.
    groupCommitMs: 0,
    groupCommitMaxMessages: 2000,
    maxFutureSeconds: 300,
    maxBackfillDays: 30,
  };
  const section = file.ingest;
  if (section === undefined) return defaults;
  if (typeof section !== 'object' || section === null || Array.isArray(section)) {
    fail(
      { value: section, source: 'file', name: 'ingest' },
      'must be an object',
      'see the README for its fields',
    );
  }
  const limits: Record<keyof typeof defaults, [number, number]> = {
    maxPayloadBytes: [256, 64 * 1024],
    groupCommitMs: [0, 1000],
    groupCommitMaxMessages: [1, 100_000],
    maxFutureSeconds: [0, 3600],
    maxBackfillDays: [1, 3650],
  };
  const out = { ...defaults };
  for (const [key, value] of Object.entries(section)) {
    // Object.hasOwn: `in` would take toString or constructor from Object.prototype as a field.
    if (!Object.hasOwn(limits, key)) {
      fail(
        { value: key, source: 'file', name: 'ingest' },
        'is an unknown field',
        `use ${Object.keys(limits).join(', ')}`,
      );
    }
    const k = key as keyof typeof defaults;
    const [min, max] = limits[k];
    out[k] = wholeSetting({ value, source: 'file', name: `ingest.${key}` }, min, max);
  }
  return out;
}

/** Builds the configuration: defaults, then the config file, then VIGIL_* variables, then flags. */
export function loadConfig(input: ConfigInput = {}): VigilConfig {
  const env = input.env ?? {};
  const cwd = input.cwd ?? process.cwd();
  const file = input.configFile ? readConfigFile(resolve(cwd, input.configFile)) : {};
  const pick = (field: TopField, fallback: unknown): RawValue => {
    const flag = input.flags?.[field];
    if (flag !== undefined)
      return { value: flag, source: 'flag', name: field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`) };
    const fromEnv = env[FIELDS[field].env];
    if (fromEnv !== undefined && fromEnv !== '')
      return { value: fromEnv, source: 'env', name: FIELDS[field].env };
    if (field in file) return { value: file[field], source: 'file', name: field };
    return { value: fallback, source: 'default', name: field };
  };
  const optional = (field: TopField): RawValue | undefined => {
    const raw = pick(field, undefined);
    return raw.value === undefined ? undefined : raw;
  };

  const dataDir = resolve(cwd, text(pick('dataDir', 'vigil-data')));
  const masterKeyRaw = optional('masterKeyFile');
  const masterKeyFile = masterKeyRaw ? resolve(cwd, text(masterKeyRaw)) : join(dataDir, 'master.key');
  const host = text(pick('host', '127.0.0.1'), 253);
  if (!isListenHost(host)) {
    fail(pick('host', ''), 'is not a host name or IP address', 'use e.g. 127.0.0.1, :: or vigil.example.org');
  }
  const dbRaw = optional('databaseUrl');
  const mqttRaw = optional('mqttUrl');
  const syslogRaw = optional('syslogUrl');
  const certRaw = optional('tlsCertFile');
  const keyRaw = optional('tlsKeyFile');
  if ((certRaw === undefined) !== (keyRaw === undefined)) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      'VIGIL_TLS_CERT and VIGIL_TLS_KEY go together; set both to use your own certificate, or neither to use the one init issued',
    );
  }
  const level = text(pick('logLevel', 'info'));
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    fail(pick('logLevel', ''), 'is not a log level', `use one of ${LOG_LEVELS.join(', ')}`);
  }
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  const publicRaw = optional('publicUrl');
  const loopbackRaw = optional('webhooksAllowLoopbackHttp');
  const config: VigilConfig = {
    dataDir,
    host,
    httpPort: port(pick('httpPort', 8443)),
    mqttPort: port(pick('mqttPort', 8883)),
    // libpq takes the host from ?host= too (a Unix socket folder: postgres:///vigil?host=/run/postgresql).
    databaseUrl: dbRaw ? url(dbRaw, ['postgres:', 'postgresql:'], { hostInQuery: true }) : undefined,
    mqttUrl: mqttRaw ? url(mqttRaw, ['mqtts:']) : undefined,
    syslogUrl: syslogRaw ? url(syslogRaw, ['udp:', 'tcp:', 'tls:']) : undefined,
    masterKeyFile,
    tlsCertFile: certRaw ? abs(text(certRaw)) : undefined,
    tlsKeyFile: keyRaw ? abs(text(keyRaw)) : undefined,
    logLevel: level as VigilConfig['logLevel'],
    ingest: Object.freeze(ingestSection(file)),
    ...smtpSection(optional('smtpUrl'), optional('mailFrom')),
    publicUrl: publicRaw ? url(publicRaw, ['https:']).replace(/\/+$/, '') : undefined,
    webhooksAllowLoopbackHttp: loopbackRaw ? bool(loopbackRaw) : false,
    enrollmentTokenTtlSeconds: 24 * 3600,
    deviceCertValidityDays: 397,
    enrollRefusalsPerMinute: wholeSetting(pick('enrollRefusalsPerMinute', 10), 1, 10_000),
    notifyRetentionDays: wholeSetting(pick('notifyRetentionDays', 30), 1, 3650),
  };
  return Object.freeze(config);
}
