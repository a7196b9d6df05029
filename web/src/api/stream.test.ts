import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CLOSE_POLICY,
  CLOSE_TRY_LATER,
  LiveStream,
  type SocketLike,
  STABLE_AFTER_MS,
  type StreamStatus,
} from './stream.ts';
import { parseStreamMessage, type StreamMessage } from './stream-messages.ts';

/** A fake WebSocket: the test plays the server by calling its handlers. */
class FakeSocket implements SocketLike {
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  closedWith: number | undefined;
  constructor(readonly url: string) {}
  send(m: unknown) {
    this.onmessage?.({ data: typeof m === 'string' ? m : JSON.stringify(m) });
  }
  serverClose(code: number, reason = '') {
    this.onclose?.({ code, reason });
  }
  close(code?: number) {
    this.closedWith = code;
  }
}

const HELLO = { type: 'hello', topics: ['readings', 'alerts'], patients: null };
const READINGS = {
  type: 'readings',
  patientId: 'p1',
  deviceId: 'd1',
  readings: [
    { code: '8867-4', value: 72, unit: '/min', ts: '2026-11-22T10:00:00.000Z', questionable: false },
  ],
};

/** A stream on fake sockets and a fake timer queue the test runs by hand. */
function harness(opts: { random?: () => number } = {}) {
  const sockets: FakeSocket[] = [];
  const timers: Array<{ run: () => void; ms: number }> = [];
  const messages: StreamMessage[] = [];
  const statuses: StreamStatus[] = [];
  const policyCloses: string[] = [];
  const stream = new LiveStream({
    url: 'wss://vigil.test/api/v1/stream',
    open: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    onMessage: (m) => messages.push(m),
    onStatus: (s) => statuses.push(s),
    onPolicyClose: (d) => policyCloses.push(d),
    random: opts.random ?? (() => 1),
    setTimer: (run, ms) => timers.push({ run, ms }),
    clearTimer: () => timers.splice(0),
  });
  const last = () => sockets.at(-1)!;
  const fireTimer = () => timers.shift()!.run();
  return { stream, sockets, timers, messages, statuses, policyCloses, last, fireTimer };
}

describe('live stream client', () => {
  it('is live after the hello and hands on each message', () => {
    const h = harness();
    h.stream.start();
    expect(h.stream.status).toBe('connecting');
    h.last().send(HELLO);
    h.last().send(READINGS);
    expect(h.stream.status).toBe('live');
    expect(h.messages.map((m) => m.type)).toEqual(['hello', 'readings']);
  });

  it('reconnects after a close, waiting twice as long each failed time, up to the cap', () => {
    const h = harness();
    h.stream.start();
    for (let i = 0; i < 7; i++) {
      h.last().serverClose(1006);
      expect(h.stream.status).toBe('reconnecting');
      h.fireTimer();
    }
    expect(h.sockets).toHaveLength(8);
    expect(h.stream.delayMs(0)).toBe(1000);
    expect(h.stream.delayMs(1)).toBe(2000);
    expect(h.stream.delayMs(10)).toBe(30_000);
  });

  // Before: the backoff was reset by every hello, so a server that accepted and then cut the
  // stream off (1013, slow consumer) was met again each second, each time re-reading every
  // open patient. A hello alone no longer resets it; a connection that stayed up does.
  it('keeps backing off when each reconnect says hello and is closed soon after', () => {
    const h = harness();
    h.stream.start();
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      h.last().send(HELLO);
      h.last().serverClose(1006);
      waits.push(h.timers[0]!.ms);
      h.fireTimer();
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000]);
  });

  it('starts the backoff afresh once a connection stayed up a minute after its hello', () => {
    vi.useFakeTimers();
    try {
      const h = harness();
      h.stream.start();
      for (let i = 0; i < 3; i++) {
        h.last().serverClose(1006);
        h.fireTimer();
      }
      h.last().send(HELLO);
      vi.setSystemTime(Date.now() + STABLE_AFTER_MS - 1);
      h.last().serverClose(1001);
      expect(h.timers[0]!.ms).toBe(8000); // up a moment too short: still backing off
      h.fireTimer();
      h.last().send(HELLO);
      vi.setSystemTime(Date.now() + STABLE_AFTER_MS);
      h.last().serverClose(1001);
      expect(h.timers[0]!.ms).toBe(1000);
      h.timers.length = 0;
      h.sockets.at(-1)!.serverClose(1006); // ignored: that socket is no longer the current one
      expect(h.timers).toHaveLength(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('waits at least the capped delay after a try-later close (1013), even the first time', () => {
    for (const random of [() => 0, () => 1]) {
      const h = harness({ random });
      h.stream.start();
      h.last().send(HELLO);
      h.last().serverClose(CLOSE_TRY_LATER);
      expect(h.timers[0]!.ms).toBeGreaterThanOrEqual(30_000);
      expect(h.timers[0]!.ms).toBeLessThanOrEqual(45_000);
    }
  });

  it('jitters the wait between half and all of it', () => {
    const low = harness({ random: () => 0 });
    expect(low.stream.delayMs(3)).toBe(4000);
    const high = harness({ random: () => 1 });
    expect(high.stream.delayMs(3)).toBe(8000);
  });

  it('drops frames that are not protocol messages, counts them, and stays connected', () => {
    const h = harness();
    h.stream.start();
    h.last().send(HELLO);
    for (const bad of [
      'not json',
      '[]',
      '{"type":"readings","patientId":"p1","deviceId":"d1","readings":[{"code":"8867-4","value":"72"}]}',
      '{"type":"alert","action":"explode","alert":{}}',
      '{"type":"telepathy"}',
      new ArrayBuffer(8),
    ])
      h.last().send(bad);
    expect(h.stream.badFrames).toBe(6);
    expect(h.messages.map((m) => m.type)).toEqual(['hello']);
    expect(h.stream.status).toBe('live');
    expect(h.sockets).toHaveLength(1);
  });

  it('reports a policy close (session ended) with the error the server sent before it', () => {
    const h = harness();
    h.stream.start();
    h.last().send(HELLO);
    h.last().send({ type: 'error', code: 'VIGIL_ERR_AUTH_REQUIRED', detail: 'session expired' });
    h.last().serverClose(CLOSE_POLICY);
    expect(h.policyCloses).toEqual(['VIGIL_ERR_AUTH_REQUIRED: session expired']);
    expect(h.stream.status).toBe('reconnecting');
  });

  it('stops for good: closes the socket and schedules nothing more', () => {
    const h = harness();
    h.stream.start();
    const socket = h.last();
    h.stream.stop();
    expect(socket.closedWith).toBe(1000);
    expect(h.stream.status).toBe('stopped');
    socket.serverClose(1006);
    expect(h.timers).toHaveLength(0);
  });

  it('retries when the socket cannot even be opened', () => {
    let calls = 0;
    const timers: Array<() => void> = [];
    const stream = new LiveStream({
      url: 'wss://x/api/v1/stream',
      open: () => {
        calls++;
        throw new SyntaxError('bad url');
      },
      onMessage: () => undefined,
      setTimer: (run) => timers.push(run),
    });
    stream.start();
    timers.shift()?.();
    expect(calls).toBe(2);
    expect(stream.status).toBe('reconnecting');
  });
});

describe('live stream silence watchdog (server heartbeat every 15 s)', () => {
  afterEach(() => vi.useRealTimers());
  const HEARTBEAT = { type: 'heartbeat', ts: '2026-12-04T19:00:15.000Z' };

  it('parses the heartbeat frame and refuses one without a time', () => {
    expect(parseStreamMessage(JSON.stringify(HEARTBEAT))).toEqual(HEARTBEAT);
    expect(parseStreamMessage('{"type":"heartbeat","ts":"soon"}')).toBeNull();
  });

  it('stays live while heartbeats arrive, although no data does', () => {
    vi.useFakeTimers();
    const h = harness();
    h.stream.start();
    h.last().send(HELLO);
    for (let i = 0; i < 8; i++) {
      vi.advanceTimersByTime(15_000);
      h.last().send(HEARTBEAT);
    }
    expect(h.stream.status).toBe('live');
    expect(h.sockets).toHaveLength(1);
  });

  it('turns stale after one missed heartbeat and live again when a frame comes', () => {
    vi.useFakeTimers();
    const h = harness();
    h.stream.start();
    h.last().send(HELLO);
    vi.advanceTimersByTime(19_999);
    expect(h.stream.status).toBe('live');
    vi.advanceTimersByTime(1);
    expect(h.stream.status).toBe('stale');
    h.last().send(HEARTBEAT);
    expect(h.stream.status).toBe('live');
    expect(h.stream.lastFrameMs).toBe(Date.now());
  });

  it('gives up a silent socket after two missed heartbeats and opens a new one', () => {
    vi.useFakeTimers();
    const h = harness();
    h.stream.start();
    h.last().send(HELLO);
    vi.advanceTimersByTime(35_000);
    expect(h.sockets[0]!.closedWith).toBe(4000);
    expect(h.stream.status).toBe('reconnecting');
    h.fireTimer();
    expect(h.sockets).toHaveLength(2);
    // A close the hung server finally sends for the old socket changes nothing.
    h.sockets[0]!.serverClose(1006);
    expect(h.stream.status).toBe('reconnecting');
    h.last().send(HELLO);
    expect(h.stream.status).toBe('live');
  });

  it('gives up a socket that never says hello (a server that accepts but does not answer)', () => {
    vi.useFakeTimers();
    const h = harness();
    h.stream.start();
    vi.advanceTimersByTime(35_000);
    expect(h.sockets[0]!.closedWith).toBe(4000);
    expect(h.timers).toHaveLength(1);
  });
});

describe('stream message parser (property)', () => {
  it('never throws on any frame, and what it accepts has a known type', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.anything()), (frame) => {
        const m = parseStreamMessage(frame);
        if (m) expect(['hello', 'readings', 'alert', 'security', 'error']).toContain(m.type);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts every well-formed readings message and keeps its values', () => {
    const reading = fc.record({
      code: fc.constantFrom('8867-4', '59408-5', '2339-0'),
      value: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      unit: fc.string(),
      ts: fc
        .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString()),
      questionable: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.array(reading, { maxLength: 20 }),
        (patientId, deviceId, readings) => {
          const m = parseStreamMessage(JSON.stringify({ type: 'readings', patientId, deviceId, readings }));
          expect(m).toEqual({
            type: 'readings',
            patientId,
            deviceId,
            readings: JSON.parse(JSON.stringify(readings)),
          });
        },
      ),
    );
  });

  it('refuses a readings message when any one reading is broken', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('value', 'ts', 'code', 'unit'),
        fc.oneof(fc.constant(null), fc.object(), fc.boolean(), fc.array(fc.integer())),
        fc.integer({ min: 0, max: 5 }),
        (field, junk, at) => {
          const good = READINGS.readings[0]!;
          const readings = Array.from({ length: 6 }, () => good);
          readings[at] = { ...good, [field]: junk };
          expect(parseStreamMessage(JSON.stringify({ ...READINGS, readings }))).toBeNull();
        },
      ),
    );
  });
});
