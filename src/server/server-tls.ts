/**
 * Vigil's own TLS certificate over the server's life. `init` issues one for the hosts of that
 * day; a host named later (VIGIL_HOST, VIGIL_PUBLIC_URL), or the end of its 825 days, would
 * leave every device and browser refusing the server. So at start and every few hours the
 * issued certificate is checked, and when it does not name every host, is not yet valid or has
 * under 30 days left, the device CA issues a new one that both listeners take at once
 * (connections already open keep theirs).
 *
 * An operator's own certificate (VIGIL_TLS_CERT/VIGIL_TLS_KEY) is never replaced. Its files are
 * read again at every check, so one renewed in place (by certbot or the like) is served without
 * a restart; until then a warning says how many days it has left.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import type { VigilConfig } from '../config/config.ts';
import type { KeyRing } from '../crypto/key-ring.ts';
import { loadServerTls, storeServerTls } from '../devices/device-ca.ts';
import { VigilError } from '../errors/catalogue.ts';
import type { Metrics } from '../observability/metrics.ts';
import { type DeviceCa, issueServerCertificate } from '../pki/index.ts';
import { readBoundedText } from '../store/bounded-file.ts';
import type { Schema } from '../store/schema.ts';

const DAY_MS = 86_400_000;
/** Reissue (or warn) this long before the end, as the posture view flags device certificates. */
export const RENEW_BEFORE_MS = 30 * DAY_MS;
/** How often a running server looks again; a certificate is reissued 30 days early, so hours do. */
export const TLS_CHECK_MS = 6 * 3_600_000;

/** What both listeners serve: the key and the certificate followed by its chain. */
export interface ServerTlsMaterial {
  keyPem: string;
  certPem: string;
  notAfterMs: number;
}

export type ReissueReason =
  | { kind: 'hosts'; missing: string[] }
  | { kind: 'expiring'; daysLeft: number }
  | { kind: 'not-yet-valid' };

export type CheckOutcome = 'kept' | 'reissued' | 'reloaded';

/** Host names the server certificate must cover: the loopback names, VIGIL_HOST and the public URL's host. */
export function serverHosts(config: Pick<VigilConfig, 'host' | 'publicUrl'>): string[] {
  const hosts = ['localhost', '127.0.0.1', '::1', config.host];
  if (config.publicUrl) hosts.push(new URL(config.publicUrl).hostname.replace(/^\[(.*)\]$/, '$1'));
  return [...new Set(hosts)];
}

/** The hosts a client dialling them would find missing, by OpenSSL's own matching, subject CN ignored. */
export function uncoveredHosts(certPem: string, hosts: readonly string[]): string[] {
  return missingFrom(new X509Certificate(certPem), hosts);
}

function missingFrom(cert: X509Certificate, hosts: readonly string[]): string[] {
  return hosts.filter((host) =>
    isIP(host) === 0
      ? cert.checkHost(host, { subject: 'never' }) === undefined
      : cert.checkIP(host) === undefined,
  );
}

/** Why the issued certificate must be replaced at `nowMs`, or undefined when it can stay. */
export function reissueReason(
  certPem: string,
  hosts: readonly string[],
  nowMs: number,
): ReissueReason | undefined {
  const cert = new X509Certificate(certPem);
  const missing = missingFrom(cert, hosts);
  if (missing.length > 0) return { kind: 'hosts', missing };
  if (Date.parse(cert.validFrom) > nowMs) return { kind: 'not-yet-valid' };
  const left = Date.parse(cert.validTo) - nowMs;
  if (left < RENEW_BEFORE_MS) return { kind: 'expiring', daysLeft: Math.floor(left / DAY_MS) };
  return undefined;
}

export function describeReason(reason: ReissueReason): string {
  switch (reason.kind) {
    case 'hosts':
      return `it does not name ${reason.missing.join(', ')}`;
    case 'not-yet-valid':
      return 'it is not valid yet (has the clock gone back?)';
    case 'expiring':
      return reason.daysLeft < 0 ? 'it has expired' : `it expires in ${reason.daysLeft} days`;
  }
}

interface KeeperOptions {
  config: Pick<VigilConfig, 'host' | 'publicUrl' | 'tlsCertFile' | 'tlsKeyFile'>;
  db: Kysely<Schema>;
  keys: KeyRing;
  ca: DeviceCa;
  log: Logger;
  audit: AuditLog;
  metrics: Metrics;
}

export class ServerTlsKeeper {
  private material!: ServerTlsMaterial;
  private readonly listeners: Array<(m: ServerTlsMaterial) => void> = [];
  private checking: Promise<CheckOutcome> | undefined;

  private constructor(private readonly o: KeeperOptions) {}

  /** Loads what the listeners will serve, reissuing it first when it is due. */
  static async open(o: KeeperOptions, nowMs = Date.now()): Promise<ServerTlsKeeper> {
    const keeper = new ServerTlsKeeper(o);
    if (keeper.ownFiles) keeper.use(readOwnFiles(keeper.ownFiles));
    else keeper.use(await keeper.loadIssued());
    await keeper.check(nowMs);
    return keeper;
  }

  get current(): ServerTlsMaterial {
    return this.material;
  }

  /** Called with the new material whenever it changes. */
  onChange(listener: (m: ServerTlsMaterial) => void): void {
    this.listeners.push(listener);
  }

  /** Reissues or reloads when due; one check at a time, a second caller shares the first. */
  check(nowMs = Date.now()): Promise<CheckOutcome> {
    this.checking ??= this.runCheck(nowMs).finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private get ownFiles(): { certFile: string; keyFile: string } | undefined {
    const { tlsCertFile, tlsKeyFile } = this.o.config;
    return tlsCertFile && tlsKeyFile ? { certFile: tlsCertFile, keyFile: tlsKeyFile } : undefined;
  }

  private async runCheck(nowMs: number): Promise<CheckOutcome> {
    const files = this.ownFiles;
    if (files) return this.reloadOwn(files, nowMs);
    const hosts = serverHosts(this.o.config);
    const reason = reissueReason(this.material.certPem, hosts, nowMs);
    if (!reason) return 'kept';
    const issuingEndsMs = Date.parse(new X509Certificate(this.o.ca.issuing.certPem).validTo);
    if (reason.kind === 'expiring' && issuingEndsMs <= this.material.notAfterMs) {
      // A leaf never outlives its issuer, so a new one would end on the same day.
      this.o.log.warn(
        { daysLeft: reason.daysLeft },
        'the server certificate ends with the device issuing CA and cannot be renewed; the CA must be replaced',
      );
      return 'kept';
    }
    const issued = await issueServerCertificate(this.o.ca, hosts, new Date(nowMs));
    await storeServerTls(this.o.db, this.o.keys, issued);
    this.use(await this.loadIssued());
    this.o.log.info(
      { reason: describeReason(reason), notAfter: new Date(this.material.notAfterMs).toISOString() },
      'server certificate reissued',
    );
    await this.o.audit.append({
      actor: 'system',
      action: 'tls.server-certificate.reissue',
      resource: 'System',
      outcome: 'success',
    });
    this.emit();
    return 'reissued';
  }

  private reloadOwn(files: { certFile: string; keyFile: string }, nowMs: number): CheckOutcome {
    let outcome: CheckOutcome = 'kept';
    try {
      const fresh = readOwnFiles(files);
      if (fresh.certPem !== this.material.certPem || fresh.keyPem !== this.material.keyPem) {
        this.use(fresh);
        this.o.log.info({ file: files.certFile }, 'server certificate reloaded from its file');
        this.emit();
        outcome = 'reloaded';
      }
    } catch (err) {
      // A half-written renewal must not take the server down: keep serving the last good pair.
      this.o.log.error(
        { err: err instanceof VigilError ? err.message : String(err) },
        'server certificate files not reloaded; still serving the previous certificate',
      );
    }
    const left = this.material.notAfterMs - nowMs;
    if (left < RENEW_BEFORE_MS) {
      this.o.log.warn(
        { file: files.certFile, daysLeft: Math.floor(left / DAY_MS) },
        left < 0
          ? 'your server certificate has expired; replace its file'
          : 'your server certificate expires soon; replace its file',
      );
    }
    return outcome;
  }

  private async loadIssued(): Promise<ServerTlsMaterial> {
    const stored = await loadServerTls(this.o.db, this.o.keys);
    return material(`${stored.certPem.trim()}\n${stored.chainPem.trim()}\n`, stored.keyPem);
  }

  private use(m: ServerTlsMaterial): void {
    this.material = m;
    this.o.metrics.tlsCertificateNotAfter.set(m.notAfterMs / 1000);
  }

  private emit(): void {
    for (const listener of this.listeners) listener(this.material);
  }
}

function material(certPem: string, keyPem: string): ServerTlsMaterial {
  return { certPem, keyPem, notAfterMs: Date.parse(new X509Certificate(certPem).validTo) };
}

/** A certificate with its whole chain is a few KiB; a long chain of large RSA certificates fits. */
export const MAX_TLS_CERT_FILE_BYTES = 256 * 1024;
/** One PEM private key: an RSA 16384-bit key is about 13 KiB. */
export const MAX_TLS_KEY_FILE_BYTES = 64 * 1024;

/** Reads and checks an operator's pair: a readable certificate and the key that goes with it. */
export function readOwnFiles(files: { certFile: string; keyFile: string }): ServerTlsMaterial {
  const read = (file: string, variable: string, maxBytes: number) =>
    readBoundedText(file, maxBytes, variable, {
      code: 'VIGIL_ERR_CONFIG_INVALID',
      whenTooLarge: 'point it at the PEM file itself',
    });
  const certPem = read(files.certFile, 'VIGIL_TLS_CERT', MAX_TLS_CERT_FILE_BYTES);
  const keyPem = read(files.keyFile, 'VIGIL_TLS_KEY', MAX_TLS_KEY_FILE_BYTES);
  try {
    if (!new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem))) {
      throw new Error('the key is not the certificate’s own');
    }
    // What the listeners will load, whole chain included, loads here first.
    createSecureContext({ cert: certPem, key: keyPem });
    return material(certPem, keyPem);
  } catch (cause) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `VIGIL_TLS_CERT and VIGIL_TLS_KEY are not a PEM certificate and its own private key (${(cause as Error).message}); check both files`,
      { cause },
    );
  }
}
