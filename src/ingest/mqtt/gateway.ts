/**
 * Vigil's embedded device gateway: MQTT 5 and 3.1.1 over mutually authenticated TLS, built on
 * mqtt-packet's codec because Aedes speaks no MQTT 5 (PUBACK reason codes carry refusals).
 * It is not a general broker: a device publishes its own telemetry and status and subscribes
 * to its own commands topic, nothing else (see topic-acl.ts). Sessions are always clean.
 */
import type { Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { TLS_POLICY } from '../../crypto/tls-policy.ts';
import { type ErrorCode, VigilError } from '../../errors/catalogue.ts';
import type { DeviceId } from '../../errors/ids.ts';
import { LogSampler } from '../../observability/log-sampler.ts';
import { type ConnectionLimits, DeviceConnection, type DeviceDirectory } from './connection.ts';
import type { GatewayHooks } from './gateway-hooks.ts';
import { Reason } from './reply-packets.ts';
import { classifyTlsFailure } from './tls-refusal.ts';

export type { GatewayHooks, RefusalEvent } from './gateway-hooks.ts';

export interface GatewayOptions {
  /** Server key and certificate, and the device CA chain that client certificates must chain to. */
  tls: { key: string | Buffer; cert: string | Buffer; ca: string | Buffer | Array<string | Buffer> };
  hooks: GatewayHooks;
  log: Logger;
  /** Largest accepted PUBLISH payload (default 64 KiB, DESIGN.md "Device protocol"). */
  maxPayloadBytes?: number;
  /** Cap on a device's keepalive; a device asking for none or more gets this (default 1200 s). */
  keepaliveMaxSeconds?: number;
  /** Time a device has to send CONNECT after the TLS handshake (default 5000 ms). */
  connectTimeoutMs?: number;
  /** QoS 1 publishes a device may have unacknowledged at once (default 100, MQTT 5 §3.2.2.3.3). */
  receiveMaximum?: number;
  /** Connections held at once, devices and handshakes alike (default 20,000). */
  maxConnections?: number;
  /** Connections from one address that have not completed CONNECT (default 256). */
  maxPendingPerAddress?: number;
}

/** Also bounds what a restart must recognise as redelivered (REDELIVERY_WINDOW in the store). */
export const DEFAULT_RECEIVE_MAXIMUM = 100;

const DEFAULTS = {
  maxPayloadBytes: 64 * 1024,
  keepaliveMaxSeconds: 1200,
  connectTimeoutMs: 5000,
  receiveMaximum: DEFAULT_RECEIVE_MAXIMUM,
  maxConnections: 20_000,
  // Many devices may share one address (a clinic's NAT, the bench on 127.0.0.1), so only
  // connections still in the handshake or before CONNECT count: each may be held for up to the
  // handshake and CONNECT timeouts, and one host must not fill the gateway with them.
  maxPendingPerAddress: 256,
} as const;
/** Headroom over the payload limit for topic, properties and header before a packet is cut off. */
const PACKET_OVERHEAD_BYTES = 1024;
const MAX_WRITE_BUFFER_BYTES = 1024 * 1024;
/** A handshake longer than this is abandoned (Node's default is 120 s, a free slowloris). */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long close() lets devices read their DISCONNECT before their sockets are destroyed. */
const CLOSE_GRACE_MS = 1000;

export class MqttGateway {
  private readonly server: Server;
  private readonly hooks: GatewayHooks;
  private readonly log: Logger;
  private readonly limits: ConnectionLimits;
  private readonly byDevice = new Map<DeviceId, DeviceConnection>();
  private readonly connections = new Set<DeviceConnection>();
  private readonly rawSockets = new Set<Socket>();
  private readonly maxPendingPerAddress: number;
  private readonly pendingByAddress = new Map<string, number>();
  /** Ends a raw socket's time as pending, by its peer's `address|port`; see track(). */
  private readonly pendingSettlers = new Map<string, () => void>();
  /** Turned away before TLS: the hang-up their TLS wrapper reports is not a certificate refusal. */
  private readonly turnedAway = new WeakSet<Socket>();
  private readonly directory: DeviceDirectory;
  /** Refusal log lines, thinned per reason code; every refusal is still counted and recorded. */
  private readonly refusalLog: LogSampler;
  private isClosing = false;

  constructor(opts: GatewayOptions) {
    this.hooks = opts.hooks;
    this.log = opts.log.child({ component: 'mqtt-gateway' });
    this.refusalLog = new LogSampler({ log: this.log, what: 'MQTT refusals' });
    this.limits = limitsFrom(opts);
    this.maxPendingPerAddress = positiveInteger(
      'maxPendingPerAddress',
      opts.maxPendingPerAddress ?? DEFAULTS.maxPendingPerAddress,
      1_000_000,
    );
    this.directory = {
      claim: (conn) => this.claim(conn),
      release: (conn) => this.release(conn),
    };
    this.server = createServer(
      {
        key: opts.tls.key,
        cert: opts.tls.cert,
        ca: opts.tls.ca,
        requestCert: true,
        rejectUnauthorized: true,
        ...TLS_POLICY,
        handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
      },
      (socket) => this.accept(socket),
    );
    this.server.maxConnections = positiveInteger(
      'maxConnections',
      opts.maxConnections ?? DEFAULTS.maxConnections,
      1_000_000,
    );
    // Node closes a connection over maxConnections itself; 'drop' is the only trace of it.
    this.server.on('drop', (data?: { remoteAddress?: string }) =>
      this.refuseConnection(
        `the gateway holds its maximum of ${this.server.maxConnections} connections`,
        data?.remoteAddress,
      ),
    );
    // Before the TLS wrapper's own listener, so a connection over the cap costs no handshake.
    this.server.prependListener('connection', (raw: Socket) => this.track(raw));
    this.server.on('tlsClientError', (err: Error, socket: TLSSocket) => this.onTlsFailure(err, socket));
  }

  /** Starts listening; with port 0 the system picks one, which is returned. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        // Only once listening: a failure to listen is the caller's to report, in its own words,
        // not a second, bare "server error" line in the log.
        this.server.on('error', (err: NodeJS.ErrnoException) =>
          this.log.error({ errorCode: err.code }, 'server error'),
        );
        const address = this.server.address();
        const bound = typeof address === 'object' && address !== null ? address.port : port;
        this.log.info({ host, port: bound }, 'MQTT gateway listening');
        resolve(bound);
      });
    });
  }

  /** Serves a new certificate (a renewal) to connections from now on; open ones keep theirs. */
  setSecureContext(tls: { key: string; cert: string; ca: string[] }): void {
    this.server.setSecureContext({ ...tls, ...TLS_POLICY });
  }

  /** Sends a command to `v1/devices/{id}/commands`; false if the device is not connected and subscribed. */
  publishToDevice(deviceId: DeviceId, payload: Buffer | string): boolean {
    const conn = this.byDevice.get(deviceId);
    if (conn === undefined) return false;
    return conn.publishCommand(typeof payload === 'string' ? Buffer.from(payload) : payload);
  }

  /** Closes a device's connection at once (quarantine, revocation); MQTT 5 devices get DISCONNECT 0x87. */
  disconnect(deviceId: DeviceId, code: ErrorCode): void {
    this.byDevice.get(deviceId)?.end(`disconnected by Vigil (${code})`, Reason.notAuthorized, code);
  }

  isConnected(deviceId: DeviceId): boolean {
    return this.byDevice.has(deviceId);
  }

  connectedCount(): number {
    return this.byDevice.size;
  }

  /** Stops accepting, tells connected devices the server is shutting down, and closes every socket. */
  async close(): Promise<void> {
    this.isClosing = true;
    const closed = new Promise<void>((resolve) => {
      this.server.close(() => resolve());
    });
    for (const conn of [...this.connections]) conn.end('gateway shutting down', Reason.serverShuttingDown);
    const force = setTimeout(() => {
      for (const raw of this.rawSockets) raw.destroy();
    }, CLOSE_GRACE_MS);
    await closed;
    clearTimeout(force);
    this.refusalLog.stop();
    this.log.info('MQTT gateway closed');
  }

  private track(raw: Socket): void {
    if (this.isClosing) {
      raw.destroy();
      return;
    }
    // Errors before or during the handshake also reach tlsClientError; this keeps them from throwing.
    raw.on('error', () => {});
    const address = raw.remoteAddress ?? 'unknown';
    const pending = this.pendingByAddress.get(address) ?? 0;
    if (pending >= this.maxPendingPerAddress) {
      this.turnedAway.add(raw);
      raw.destroy();
      this.refuseConnection(
        `${address} already has ${pending} connections that have not completed CONNECT`,
        address,
      );
      return;
    }
    this.pendingByAddress.set(address, pending + 1);
    const key = `${address}|${String(raw.remotePort)}`;
    let isPending = true;
    const settle = () => {
      if (!isPending) return;
      isPending = false;
      if (this.pendingSettlers.get(key) === settle) this.pendingSettlers.delete(key);
      const left = (this.pendingByAddress.get(address) ?? 1) - 1;
      if (left > 0) this.pendingByAddress.set(address, left);
      else this.pendingByAddress.delete(address);
    };
    this.pendingSettlers.set(key, settle);
    // PUBACKs are tiny and latency-bound; Nagle would hold them back behind delayed ACKs.
    raw.setNoDelay(true);
    this.rawSockets.add(raw);
    raw.once('close', () => {
      this.rawSockets.delete(raw);
      settle();
    });
  }

  private accept(socket: TLSSocket): void {
    if (this.isClosing) {
      socket.destroy();
      return;
    }
    if (!socket.authorized) {
      // rejectUnauthorized has already dropped these; checked again so a config slip fails closed.
      this.refuseTls(
        'VIGIL_ERR_TLS_BAD_CERT',
        `client certificate not authorized: ${String(socket.authorizationError)}`,
        socket,
      );
      socket.destroy();
      return;
    }
    const settle = this.pendingSettlers.get(
      `${socket.remoteAddress ?? 'unknown'}|${String(socket.remotePort)}`,
    );
    const conn = new DeviceConnection(socket, {
      hooks: this.hooks,
      log: this.log,
      refusalLog: this.refusalLog,
      limits: this.limits,
      directory: this.directory,
      onOpened: () => settle?.(),
      onClosed: (closed) => this.connections.delete(closed),
    });
    this.connections.add(conn);
  }

  private claim(conn: DeviceConnection): void {
    const deviceId = conn.deviceId;
    if (deviceId === undefined) return;
    const previous = this.byDevice.get(deviceId);
    // §3.1.4-3: a second connection with the same client id takes over; the old one is told (0x8E).
    if (previous !== undefined && previous !== conn)
      previous.end('session taken over', Reason.sessionTakenOver);
    this.byDevice.set(deviceId, conn);
  }

  private release(conn: DeviceConnection): void {
    const deviceId = conn.deviceId;
    if (deviceId !== undefined && this.byDevice.get(deviceId) === conn) this.byDevice.delete(deviceId);
  }

  private onTlsFailure(err: Error, socket: TLSSocket): void {
    // Node's TLSSocket keeps the TCP socket it wraps as _parent (not in its typings).
    const raw = (socket as TLSSocket & { _parent?: Socket })._parent;
    if (raw !== undefined && this.turnedAway.has(raw)) return;
    const refusal = classifyTlsFailure(err, socket.authorizationError);
    this.refuseTls(refusal.code, refusal.detail, socket);
  }

  private refuseConnection(detail: string, remoteAddress: string | undefined): void {
    const code = 'VIGIL_ERR_MQTT_TOO_MANY_CONNECTIONS';
    if (this.refusalLog.admit(code)) this.log.warn({ code, detail, remoteAddress }, 'connection refused');
    try {
      this.hooks.onRefusal({ code, detail, ...(remoteAddress === undefined ? {} : { remoteAddress }) });
    } catch (hookErr) {
      this.log.error(
        { errorName: hookErr instanceof Error ? hookErr.name : typeof hookErr },
        'onRefusal hook threw',
      );
    }
  }

  private refuseTls(code: ErrorCode, detail: string, socket: TLSSocket): void {
    const remoteAddress = socket.remoteAddress;
    if (this.refusalLog.admit(code)) this.log.warn({ code, detail, remoteAddress }, 'TLS connection refused');
    try {
      this.hooks.onRefusal({ code, detail, ...(remoteAddress === undefined ? {} : { remoteAddress }) });
    } catch (hookErr) {
      this.log.error(
        { errorName: hookErr instanceof Error ? hookErr.name : typeof hookErr },
        'onRefusal hook threw',
      );
    }
  }
}

function limitsFrom(opts: GatewayOptions): ConnectionLimits {
  const maxPayloadBytes = positiveInteger(
    'maxPayloadBytes',
    opts.maxPayloadBytes ?? DEFAULTS.maxPayloadBytes,
    256 * 1024 * 1024,
  );
  return {
    maxPayloadBytes,
    maxRemainingLength: maxPayloadBytes + PACKET_OVERHEAD_BYTES,
    keepaliveMaxSeconds: positiveInteger(
      'keepaliveMaxSeconds',
      opts.keepaliveMaxSeconds ?? DEFAULTS.keepaliveMaxSeconds,
      0xffff,
    ),
    connectTimeoutMs: positiveInteger(
      'connectTimeoutMs',
      opts.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      600_000,
    ),
    receiveMaximum: positiveInteger('receiveMaximum', opts.receiveMaximum ?? DEFAULTS.receiveMaximum, 0xffff),
    maxWriteBufferBytes: MAX_WRITE_BUFFER_BYTES,
  };
}

function positiveInteger(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `MQTT gateway option ${name}=${value} must be an integer from 1 to ${max}`,
    );
  }
  return value;
}
