import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { Identity } from '../access/session-guard.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Metrics } from '../observability/metrics.ts';
import { StreamHub } from './stream-hub.ts';

/** A fake socket: records what is sent; the real `ws` path is covered by test/stream.test.ts. */
class FakeSocket extends EventEmitter {
  readonly sent: string[] = [];
  bufferedAmount = 0;
  send(text: string): void {
    this.sent.push(text);
  }
  closedWith: number | undefined;
  close(code?: number): void {
    this.closedWith = code;
    this.emit('close');
  }
  terminate(): void {
    this.emit('close');
  }
  ping(): void {}
}

const identity = { kind: 'token', role: 'clinician', actor: 'token:t' } as unknown as Identity;
const counter = { inc: () => undefined, set: () => undefined };

function hub() {
  return new StreamHub({
    readable: async (_i, ids) => new Set(ids),
    audit: { append: async () => undefined } as unknown as AuditLog,
    metrics: { streamsOpen: counter, streamMessages: counter, streamCloses: counter } as unknown as Metrics,
    log: { error: () => undefined } as unknown as Logger,
    unitOf: () => '/min',
    isQuestionable: () => false,
    limits: { heartbeatMs: 15_000, pingMs: 30_000 },
  });
}

function attach(h: StreamHub, who: Identity = identity) {
  const ws = new FakeSocket();
  h.attach(ws as unknown as WebSocket, {
    identity: who,
    topics: new Set(['readings']),
    patients: null,
    source: '127.0.0.1',
    reauthenticate: async () => identity,
  });
  return ws;
}

describe('stream heartbeat', () => {
  it('sends every connection a heartbeat frame each heartbeatMs while nothing else happens', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: Date.parse('2026-12-04T19:00:00Z') });
    const h = hub();
    const a = attach(h);
    const b = attach(h);
    t.mock.timers.tick(14_999);
    assert.deepEqual(a.sent, []);
    t.mock.timers.tick(1);
    assert.deepEqual(a.sent, ['{"type":"heartbeat","ts":"2026-12-04T19:00:15.000Z"}']);
    t.mock.timers.tick(15_000);
    assert.equal(a.sent.length, 2);
    assert.deepEqual(b.sent, a.sent);
    assert.deepEqual(JSON.parse(a.sent[1]!), { type: 'heartbeat', ts: '2026-12-04T19:00:30.000Z' });
    await h.stop(0);
  });

  it('sends nothing to a connection that has closed', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const h = hub();
    const ws = attach(h);
    ws.close();
    t.mock.timers.tick(30_000);
    assert.deepEqual(ws.sent, []);
    await h.stop(0);
  });
});

describe('ending the streams of an ended session', () => {
  const user = (userId: string, sessionIdHash: string) =>
    ({
      kind: 'user',
      userId,
      role: 'clinician',
      actor: `user:${userId}`,
      sessionIdHash,
    }) as unknown as Identity;

  it('closes at once, with an error frame and 1008, only the streams of the signed-out session', async () => {
    const h = hub();
    const signedOut = attach(h, user('u-lee', 'hash-a'));
    const otherTab = attach(h, user('u-lee', 'hash-b'));
    const token = attach(h);
    assert.equal(h.endSessionStreams('hash-a', 'signed out; sign in again'), 1);
    assert.equal(signedOut.closedWith, 1008);
    assert.deepEqual(JSON.parse(signedOut.sent[0]!), {
      type: 'error',
      code: 'VIGIL_ERR_AUTH_REQUIRED',
      detail: 'signed out; sign in again',
    });
    assert.equal(otherTab.closedWith, undefined);
    assert.equal(token.closedWith, undefined);
    assert.equal(h.size, 2);
    await h.stop(0);
  });

  it("closes every session's streams of a user whose password changed, and no one else's", async () => {
    const h = hub();
    const a = attach(h, user('u-lee', 'hash-a'));
    const b = attach(h, user('u-lee', 'hash-b'));
    const park = attach(h, user('u-park', 'hash-c'));
    assert.equal(h.endUserStreams('u-lee', 'the password changed; sign in again'), 2);
    assert.deepEqual([a.closedWith, b.closedWith, park.closedWith], [1008, 1008, undefined]);
    await h.stop(0);
  });
});
