import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { type Socket, connect as tcpConnect } from 'node:net';
import { hostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import type { Schema } from '../store/schema.ts';

/**
 * Streams audit entries to a SIEM as RFC 5424 syslog messages: over UDP (RFC 5426), TCP with
 * octet-counting framing (RFC 6587), or TLS (RFC 5425). The copy on another machine is what
 * finds a trail rewritten by someone who also holds the database and its checkpoints.
 * Delivery is best effort: a SIEM that is down never blocks or fails an audited action; lost
 * messages are counted, and `vigil audit verify` remains the authority.
 */
type AuditRow = Schema['audit_log'];

const FACILITY_LOG_AUDIT = 13;
const SEVERITY_NOTICE = 5;
const SEVERITY_WARNING = 4;
/** Private enterprise number placeholder for the structured-data id (RFC 5424 §7.2.2). */
const SD_ID = 'vigil@32473';
const MAX_QUEUE = 10_000;

/** RFC 5424 §6.3.3: inside a PARAM-VALUE, '"', '\' and ']' are escaped with a backslash. */
export function escapeParam(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** PRINTUSASCII without space, at most `max` characters (HOSTNAME, APP-NAME, ...). */
function header(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

export function formatRfc5424(entry: AuditRow, host = hostname(), procId = String(process.pid)): string {
  const severity = entry.outcome === 'success' ? SEVERITY_NOTICE : SEVERITY_WARNING;
  const pri = FACILITY_LOG_AUDIT * 8 + severity;
  const params: Array<[string, string | null]> = [
    ['seq', String(entry.seq)],
    ['actor', entry.actor],
    ['action', entry.action],
    ['outcome', entry.outcome],
    ['resource', entry.resource],
    ['patient', entry.patient_id],
    ['purpose', entry.purpose],
    ['source', entry.source],
    ['hash', entry.hash],
  ];
  const sd = `[${SD_ID}${params
    .filter((p): p is [string, string] => p[1] !== null)
    .map(([k, v]) => ` ${k}="${escapeParam(v)}"`)
    .join('')}]`;
  const msg = `${entry.action} by ${entry.actor}: ${entry.outcome}`;
  return `<${pri}>1 ${new Date(entry.ts).toISOString()} ${header(host, 255)} vigil ${header(procId, 128)} audit ${sd} ${msg}`;
}

export interface SyslogStats {
  sent: number;
  dropped: number;
}

export class SyslogSink {
  private readonly target: URL;
  private udp: UdpSocket | undefined;
  private stream: Socket | undefined;
  private connecting = false;
  private queue: string[] = [];
  private closed = false;
  readonly stats: SyslogStats = { sent: 0, dropped: 0 };

  constructor(
    url: string,
    private readonly onError: (message: string) => void = () => {},
  ) {
    this.target = new URL(url);
    if (!['udp:', 'tcp:', 'tls:'].includes(this.target.protocol)) {
      throw new Error(`syslog URL ${url} must start with udp://, tcp:// or tls://`);
    }
  }

  private get port(): number {
    return Number(this.target.port || (this.target.protocol === 'tls:' ? 6514 : 514));
  }

  private get host(): string {
    return this.target.hostname.replace(/^\[|\]$/g, '');
  }

  send(entry: AuditRow): void {
    if (this.closed) return;
    const line = formatRfc5424(entry);
    if (this.target.protocol === 'udp:') {
      this.udp ??= createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
      this.udp.send(Buffer.from(line), this.port, this.host, (err) => {
        if (err) {
          this.stats.dropped++;
          this.onError(err.message);
        } else this.stats.sent++;
      });
      return;
    }
    if (this.queue.length >= MAX_QUEUE) {
      this.stats.dropped++;
      return;
    }
    this.queue.push(line);
    this.flush();
  }

  private flush(): void {
    if (!this.stream) {
      this.connect();
      return;
    }
    for (const line of this.queue.splice(0)) {
      // Octet counting: "<length> <message>", so messages may contain newlines safely.
      this.stream.write(`${Buffer.byteLength(line)} ${line}`);
      this.stats.sent++;
    }
  }

  private connect(): void {
    if (this.connecting || this.closed) return;
    this.connecting = true;
    const opts = { host: this.host, port: this.port };
    const socket =
      this.target.protocol === 'tls:'
        ? tlsConnect({ ...opts, servername: this.host, minVersion: 'TLSv1.2' })
        : tcpConnect(opts);
    const ready = this.target.protocol === 'tls:' ? 'secureConnect' : 'connect';
    socket.once(ready, () => {
      this.connecting = false;
      this.stream = socket;
      this.flush();
    });
    socket.on('error', (err) => this.onError(err.message));
    socket.once('close', () => {
      this.connecting = false;
      this.stream = undefined;
      // Retry later with what is queued; the queue is bounded.
      if (!this.closed && this.queue.length > 0) setTimeout(() => this.connect(), 2000).unref();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.udp?.close();
    const stream = this.stream;
    if (stream) await new Promise<void>((resolve) => stream.end(resolve));
  }
}
