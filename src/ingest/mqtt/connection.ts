/**
 * One device's MQTT connection over an already verified TLS socket: framing and parsing,
 * CONNECT and identification, keepalive, dispatch of packets to the session parts, and an
 * orderly close. Bad bytes end this connection only; nothing here throws into the server.
 */
import type { TLSSocket } from 'node:tls';
import { generate, type IConnectPacket, parser as mqttParser, type Packet } from 'mqtt-packet';
import type { Logger } from 'pino';
import { certificateValidity } from '../../devices/device-identity.ts';
import { type ErrorCode, isVigilError, VigilError } from '../../errors/catalogue.ts';
import { type DeviceId, isValidId } from '../../errors/ids.ts';
import type { LogSampler } from '../../observability/log-sampler.ts';
import { CommandChannel } from './command-channel.ts';
import type { GatewayHooks } from './gateway-hooks.ts';
import { InboundPublishes, type ReadFlow } from './inbound-publishes.ts';
import { largestPacketBytes, PacketSizeGuard } from './packet-size-guard.ts';
import {
  connackAccepted,
  connackReasonFor,
  connackRefusal,
  disconnectPacket,
  type ProtocolVersion,
  Reason,
  withoutProblemInformation,
} from './reply-packets.ts';
import type { SessionLink } from './session-link.ts';
import {
  effectiveKeepaliveSeconds,
  peerLimitsFrom,
  wantsProblemInformation,
  willRefusal,
} from './session-terms.ts';

export interface ConnectionLimits {
  readonly maxPayloadBytes: number;
  /** Largest Remaining Length accepted; a packet declaring more closes the connection. */
  readonly maxRemainingLength: number;
  readonly keepaliveMaxSeconds: number;
  readonly connectTimeoutMs: number;
  readonly receiveMaximum: number;
  /** Bytes queued for a device that does not read before the connection is dropped. */
  readonly maxWriteBufferBytes: number;
}

/** Where identified connections are registered, one per device. */
export interface DeviceDirectory {
  /** Makes `conn` the device's connection, closing an older one first (session takeover). */
  claim(conn: DeviceConnection): void;
  release(conn: DeviceConnection): void;
}

export interface ConnectionDeps {
  readonly hooks: GatewayHooks;
  readonly log: Logger;
  /** Shared by every connection: a flood of refusals writes a few lines and a count. */
  readonly refusalLog: Pick<LogSampler, 'admit'>;
  readonly limits: ConnectionLimits;
  readonly directory: DeviceDirectory;
  /** The device completed CONNECT (its CONNACK is sent). */
  onOpened(conn: DeviceConnection): void;
  onClosed(conn: DeviceConnection): void;
}

type State = 'awaiting-connect' | 'identifying' | 'open' | 'closed';

interface Session {
  readonly deviceId: DeviceId;
  readonly commands: CommandChannel;
  readonly inbound: InboundPublishes;
}

/** Time a closing socket gets to flush its last packet before it is destroyed. */
const LINGER_MS = 1000;
/**
 * Publishes and subscriptions outside its own topics a device may make in one session. MQTT 5
 * tells it each refusal (PUBACK or SUBACK 0x87) and keeps the session, so without a bound a
 * compromised device could probe other devices' topics for ever on one connection; a device
 * that is merely misconfigured learns from the first refusal.
 */
export const MAX_TOPIC_DENIALS = 10;
/** setTimeout's longest delay (2^31-1 ms, 24.8 days); a certificate may live 397 days. */
const MAX_TIMER_MS = 0x7fffffff;

export class DeviceConnection implements ReadFlow {
  private state: State = 'awaiting-connect';
  private version: ProtocolVersion = 4;
  private session: Session | undefined;
  private log: Logger;
  private readonly remoteAddress: string | undefined;
  private readonly parser = mqttParser();
  private readonly sizeGuard: PacketSizeGuard;
  /**
   * Packets parsed but not yet dispatched, in arrival order: those behind CONNECT wait until the
   * device is identified (§3.1.4), and those behind the Receive Maximum-th publish in flight
   * wait for a PUBACK to free a slot. Pausing the socket stops only later reads; one read (up to
   * 16 KiB of TLS plaintext) may hold hundreds of small publishes, and dispatching them all
   * would put more in flight than the store's redelivery window allows for.
   */
  private readonly pending: Packet[] = [];
  private isIdentifying = false;
  private isBackpressured = false;
  private isDraining = false;
  /** What the device said in CONNECT about the packets it takes (MQTT 5 §3.1.2.11). */
  private peerMaximumPacketBytes: number | undefined;
  private wantsProblemInformation = true;
  /** The socket is corked until the end of this tick: see send(). */
  private corked = false;
  /** Refused before it opened, unlogged (sampled out): its close line would be the only trace. */
  private isQuiet = false;
  private readonly connectTimer: NodeJS.Timeout;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private certificateExpiryTimer: NodeJS.Timeout | undefined;
  private topicDenials = 0;
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: TLSSocket,
    private readonly deps: ConnectionDeps,
  ) {
    this.remoteAddress = socket.remoteAddress;
    this.log = deps.log.child({ remoteAddress: this.remoteAddress });
    this.sizeGuard = new PacketSizeGuard(deps.limits.maxRemainingLength);
    this.parser.on('packet', (packet) => this.onPacket(packet));
    this.parser.on('error', (err: unknown) => this.onProtocolError(err));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.end(`socket error ${err.code ?? err.name}`));
    socket.on('close', () => this.onSocketClose());
    this.connectTimer = setTimeout(() => this.onConnectTimeout(), deps.limits.connectTimeoutMs).unref();
  }

  get deviceId(): DeviceId | undefined {
    return this.session?.deviceId;
  }

  /** Sends a command on the device's commands topic; false if it is not subscribed or cannot take it. */
  publishCommand(payload: Buffer): boolean {
    return this.state === 'open' && this.session !== undefined && this.session.commands.publish(payload);
  }

  pauseReading(): void {
    this.isBackpressured = true;
    this.updateReading();
  }

  resumeReading(): void {
    if (!this.isBackpressured) return;
    this.isBackpressured = false;
    this.keepaliveTimer?.refresh();
    this.drainPending();
  }

  /** Closes the connection; an MQTT 5 device that completed CONNECT is told `reason` first (§3.14). */
  end(why: string, reason?: number, reasonString?: string): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    if (wasOpen && this.version === 5 && reason !== undefined && !this.socket.destroyed) {
      const bytes = this.encode(disconnectPacket(reason, reasonString));
      if (bytes !== undefined) this.socket.write(bytes);
    }
    clearTimeout(this.connectTimer);
    clearTimeout(this.keepaliveTimer);
    clearTimeout(this.certificateExpiryTimer);
    this.pending.length = 0;
    if (!this.socket.destroyed) {
      this.socket.end();
      this.lingerTimer = setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
    }
    const session = this.session;
    if (wasOpen && session !== undefined) {
      this.deps.directory.release(this);
      this.callHook('onDisconnect', () => this.deps.hooks.onDisconnect?.(session.deviceId));
    }
    this.deps.onClosed(this);
    if (!this.isQuiet) this.log.info({ why }, 'connection closed');
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    const verdict = this.sizeGuard.scan(chunk);
    if (verdict.kind === 'too-large') {
      const detail = `packet declares ${verdict.declaredBytes} bytes; limit is ${this.deps.limits.maxRemainingLength}`;
      this.refuse('VIGIL_ERR_INGEST_TOO_LARGE', detail);
      this.end('packet too large', Reason.packetTooLarge, 'VIGIL_ERR_INGEST_TOO_LARGE');
      return;
    }
    if (verdict.kind === 'malformed') {
      this.onProtocolError(new Error('invalid Remaining Length'));
      return;
    }
    try {
      this.parser.parse(chunk);
    } catch (err) {
      this.onProtocolError(err);
    }
  }

  private onProtocolError(err: unknown): void {
    if (this.state === 'closed') return;
    const message = err instanceof Error ? err.message : String(err);
    this.refuse('VIGIL_ERR_MQTT_PROTOCOL', `malformed MQTT packet: ${message}`.slice(0, 200));
    this.end('malformed packet', Reason.malformedPacket, 'VIGIL_ERR_MQTT_PROTOCOL');
  }

  private onPacket(packet: Packet): void {
    if (this.state === 'closed') return;
    this.keepaliveTimer?.refresh();
    if (this.state === 'awaiting-connect') this.onFirstPacket(packet);
    else if (this.state === 'identifying' || this.isBackpressured || this.pending.length > 0)
      this.pending.push(packet);
    else this.dispatch(packet);
  }

  /** Dispatches waiting packets in order until the limit is reached again, then reads on. */
  private drainPending(): void {
    // A publish that settles synchronously resumes from inside dispatch(); the loop below goes on.
    if (this.isDraining) return;
    this.isDraining = true;
    try {
      while (this.state === 'open' && !this.isBackpressured) {
        const packet = this.pending.shift();
        if (packet === undefined) break;
        this.dispatch(packet);
      }
    } finally {
      this.isDraining = false;
    }
    this.updateReading();
  }

  private onFirstPacket(packet: Packet): void {
    if (packet.cmd !== 'connect') {
      // §3.1: the first packet from the client must be CONNECT.
      this.refuse('VIGIL_ERR_MQTT_PROTOCOL', `first packet was ${packet.cmd}, not CONNECT`);
      this.end('no CONNECT');
      return;
    }
    this.state = 'identifying';
    this.isIdentifying = true;
    this.updateReading();
    void this.admit(packet);
  }

  private async admit(connect: IConnectPacket): Promise<void> {
    const requested = connect.protocolVersion;
    if (requested !== 4 && requested !== 5) {
      // §3.1.2.2 (3.1.1): unsupported level gets return code 1, then the connection closes.
      this.refuse(
        'VIGIL_ERR_MQTT_UNSUPPORTED',
        `MQTT protocol level ${String(requested)} is not supported; use 5 or 3.1.1`,
      );
      this.send(connackRefusal(4, Reason.unsupportedProtocolVersion, 'VIGIL_ERR_MQTT_UNSUPPORTED'));
      this.end('unsupported protocol version');
      return;
    }
    this.version = requested;
    // Known before identify(), so a refusing CONNACK already respects them.
    this.peerMaximumPacketBytes = connect.properties?.maximumPacketSize;
    this.wantsProblemInformation = wantsProblemInformation(connect);
    let deviceId: DeviceId;
    try {
      deviceId = await this.deps.hooks.identify(this.socket);
    } catch (err) {
      // Closed meanwhile (device left, or the connect timer already refused it): nothing to answer.
      if (this.state !== 'closed') this.refuseConnect(err);
      return;
    }
    if (this.state === 'closed') return;
    if (connect.clientId !== '' && connect.clientId !== deviceId) {
      const shown = JSON.stringify(connect.clientId.slice(0, 64));
      const detail = `client id ${shown} is not the certificate's device id ${deviceId}; send that or an empty one`;
      this.refuseConnect(new VigilError('VIGIL_ERR_AUTH_FORBIDDEN', detail), Reason.clientIdNotValid);
      return;
    }
    const refusedWill = willRefusal(connect);
    if (refusedWill !== undefined) {
      this.refuseConnect(refusedWill.error, refusedWill.reason);
      return;
    }
    this.open(connect, deviceId);
  }

  private claimedDeviceId(): DeviceId | undefined {
    const cn = this.socket.getPeerCertificate()?.subject?.CN;
    return typeof cn === 'string' && isValidId(cn) ? (cn as DeviceId) : undefined;
  }

  private refuseConnect(err: unknown, reason?: number): void {
    let refusal: VigilError;
    if (isVigilError(err)) {
      refusal = err;
    } else {
      this.log.error({ errorName: err instanceof Error ? err.name : typeof err }, 'identify failed');
      refusal = new VigilError('VIGIL_ERR_INTERNAL', 'identify failed', { cause: err });
    }
    this.refuse(refusal.code, refusal.detail);
    this.send(connackRefusal(this.version, reason ?? connackReasonFor(refusal), refusal.code));
    this.end('connection refused');
  }

  private open(connect: IConnectPacket, deviceId: DeviceId): void {
    const { limits, hooks } = this.deps;
    const keepaliveSeconds = effectiveKeepaliveSeconds(connect.keepalive ?? 0, limits.keepaliveMaxSeconds);
    const maximumPacketBytes = largestPacketBytes(limits.maxRemainingLength);
    const session = { deviceId, keepaliveSeconds, receiveMaximum: limits.receiveMaximum, maximumPacketBytes };
    const connack = connackAccepted(this.version, connect, session);
    if (this.encode(connack) === undefined) {
      // [MQTT-3.1.2-24] forbids sending it, and a device that never gets CONNACK would only hang.
      const detail = `Maximum Packet Size ${String(this.peerMaximumPacketBytes)} is too small for the CONNACK`;
      this.refuseConnect(new VigilError('VIGIL_ERR_MQTT_UNSUPPORTED', detail), Reason.packetTooLarge);
      return;
    }
    clearTimeout(this.connectTimer);
    this.log = this.deps.log.child({ deviceId, remoteAddress: this.remoteAddress });
    const link = this.linkFor(deviceId);
    const commands = new CommandChannel(link, peerLimitsFrom(connect));
    const inbound = new InboundPublishes(link, hooks, commands, this, limits);
    this.session = { deviceId, commands, inbound };
    this.deps.directory.claim(this);
    this.state = 'open';
    this.deps.onOpened(this);
    this.send(connack);
    // §3.1.2.10: no packet for 1.5 times the keepalive means the device is gone.
    this.keepaliveTimer = setTimeout(() => this.onKeepaliveExpired(), keepaliveSeconds * 1500).unref();
    // Identity is checked once, at CONNECT, and keepalive would hold a session open for ever:
    // the session ends with its certificate, as a new handshake would then be refused.
    this.armCertificateExpiry(certificateValidity(this.socket.getPeerCertificate()).notAfterMs);
    this.log.info({ protocolVersion: this.version, keepaliveSeconds }, 'device connected');
    this.callHook('onConnect', () => hooks.onConnect?.(deviceId, this.version));
    this.isIdentifying = false;
    this.drainPending();
  }

  private dispatch(packet: Packet): void {
    const session = this.session;
    if (session === undefined) return;
    switch (packet.cmd) {
      case 'publish':
        session.inbound.onPublish(packet);
        return;
      case 'puback':
        session.commands.onPuback(packet.messageId, packet.reasonCode);
        return;
      case 'subscribe':
        session.commands.onSubscribe(packet);
        return;
      case 'unsubscribe':
        session.commands.onUnsubscribe(packet);
        return;
      case 'pingreq':
        this.send({ cmd: 'pingresp' });
        return;
      case 'disconnect':
        this.end('device disconnected');
        return;
      default:
        // A second CONNECT (§3.1.0-2), QoS 2 flow packets, AUTH, or packets only servers send.
        this.refuse('VIGIL_ERR_MQTT_PROTOCOL', `unexpected ${packet.cmd} packet from a device`);
        this.end(`unexpected ${packet.cmd}`, Reason.protocolError, 'VIGIL_ERR_MQTT_PROTOCOL');
    }
  }

  private linkFor(deviceId: DeviceId): SessionLink {
    return {
      deviceId,
      version: this.version,
      log: this.log,
      send: (packet) => this.send(packet),
      refuse: (code, detail) => this.refuse(code, detail),
      noteTopicDenied: () => this.noteTopicDenied(),
      end: (why, reason, reasonString) => this.end(why, reason, reasonString),
    };
  }

  private send(packet: Packet): boolean {
    if (this.state === 'closed' || this.socket.destroyed) return false;
    const bytes = this.encode(packet);
    if (bytes === undefined) return false;
    if (this.socket.writableLength + bytes.length > this.deps.limits.maxWriteBufferBytes) {
      // A device that stops reading must not make the gateway buffer for it without end.
      this.log.warn({ queuedBytes: this.socket.writableLength }, 'device is not reading; closing');
      this.end('device is not reading its socket');
      return false;
    }
    // One commit settles many publishes at once, often several of this device's: corked until
    // the microtasks of this tick have run, their PUBACKs leave in one TLS record and one write
    // instead of one each (each write to a socket costs a syscall and a record's encryption).
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(bytes);
    return true;
  }

  /** The packet's bytes as this device may receive them; undefined when it must not be sent. */
  private encode(packet: Packet): Buffer | undefined {
    const { cmd } = packet;
    // [MQTT-3.1.2-29]: a device that asked for no problem information still gets it on these.
    const outgoing =
      this.wantsProblemInformation || cmd === 'connack' || cmd === 'disconnect' || cmd === 'publish'
        ? packet
        : withoutProblemInformation(packet);
    const bytes = this.generate(outgoing);
    const max = this.peerMaximumPacketBytes;
    if (bytes === undefined || max === undefined || bytes.length <= max) return bytes;
    // A Reason String or User Properties must not push a packet over the device's Maximum Packet
    // Size: the packet goes without them (§3.4.2.2.2, [MQTT-3.2.2-19], [MQTT-3.14.2-3]).
    const trimmed = withoutProblemInformation(outgoing);
    const smaller = trimmed === outgoing ? undefined : this.generate(trimmed);
    if (smaller !== undefined && smaller.length <= max) return smaller;
    // §3.1.2.11.4: a packet the device cannot take is discarded, as if it had been sent.
    this.log.warn(
      { cmd, bytes: bytes.length, maximumPacketBytes: max },
      'packet too large for the device; not sent',
    );
    return undefined;
  }

  private generate(packet: Packet): Buffer | undefined {
    try {
      return generate(packet, { protocolVersion: this.version });
    } catch (err) {
      this.log.error(
        { cmd: packet.cmd, errorName: err instanceof Error ? err.name : typeof err },
        'packet not encodable',
      );
      return undefined;
    }
  }

  private refuse(code: ErrorCode, detail: string): void {
    // Before identification, attribute the refusal to the device the certificate names (a
    // revoked or quarantined device trying again is exactly what a security officer looks for).
    const deviceId = this.session?.deviceId ?? this.claimedDeviceId();
    if (this.deps.refusalLog.admit(code)) this.log.warn({ code, detail }, 'refused');
    else if (this.state !== 'open') this.isQuiet = true;
    this.callHook('onRefusal', () =>
      this.deps.hooks.onRefusal({
        code,
        detail,
        ...(deviceId === undefined ? {} : { deviceId }),
        ...(this.remoteAddress === undefined ? {} : { remoteAddress: this.remoteAddress }),
      }),
    );
  }

  /** A hook that throws is a bug elsewhere; it is logged and must not take the gateway down. */
  private callHook(name: string, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.log.error(
        { hook: name, errorName: err instanceof Error ? err.name : typeof err },
        'gateway hook threw',
      );
    }
  }

  private updateReading(): void {
    if (this.socket.destroyed) return;
    if (this.isIdentifying || this.isBackpressured) this.socket.pause();
    else this.socket.resume();
  }

  /** The connect timer runs until CONNACK, so a stalled identify() cannot pin connections either. */
  private onConnectTimeout(): void {
    const timeoutMs = this.deps.limits.connectTimeoutMs;
    if (this.state === 'awaiting-connect') {
      this.refuse('VIGIL_ERR_MQTT_PROTOCOL', `no CONNECT within ${timeoutMs} ms`);
      this.end('no CONNECT in time');
    } else if (this.state === 'identifying') {
      this.refuseConnect(
        new VigilError('VIGIL_ERR_INTERNAL', `identify() did not answer within ${timeoutMs} ms`),
      );
    }
  }

  private noteTopicDenied(): void {
    this.topicDenials += 1;
    if (this.topicDenials < MAX_TOPIC_DENIALS) return;
    this.end(
      `${MAX_TOPIC_DENIALS} publishes or subscriptions outside the device topics`,
      Reason.notAuthorized,
      'VIGIL_ERR_MQTT_TOPIC_DENIED',
    );
  }

  private armCertificateExpiry(notAfterMs: number): void {
    const remainingMs = notAfterMs - Date.now();
    // Not `remainingMs < 0`: a notAfter that does not parse (NaN) must end the session too.
    if (!(remainingMs >= 0)) {
      this.onCertificateExpired(notAfterMs);
      return;
    }
    // Valid through notAfter (RFC 5280 §4.1.2.5); a long wait is made of several timers.
    const delayMs = Math.min(remainingMs + 1, MAX_TIMER_MS);
    this.certificateExpiryTimer = setTimeout(() => this.armCertificateExpiry(notAfterMs), delayMs).unref();
  }

  private onCertificateExpired(notAfterMs: number): void {
    if (this.state === 'closed') return;
    const when = Number.isNaN(notAfterMs)
      ? 'has no readable notAfter'
      : `expired at ${new Date(notAfterMs).toISOString()}`;
    this.refuse(
      'VIGIL_ERR_TLS_BAD_CERT',
      `the certificate of device ${this.deviceId ?? 'unknown'} ${when}; renew it before it expires`,
    );
    this.end('certificate expired', Reason.notAuthorized, 'VIGIL_ERR_TLS_BAD_CERT');
  }

  private onKeepaliveExpired(): void {
    // While reading is paused for back-pressure the device's PINGREQs wait in our buffers;
    // the slow party is the gateway, so the device is not dropped for it.
    if (this.isBackpressured) {
      this.keepaliveTimer?.refresh();
      return;
    }
    this.end('keepalive expired', Reason.keepAliveTimeout);
  }

  private onSocketClose(): void {
    clearTimeout(this.lingerTimer);
    this.end('socket closed');
  }
}
