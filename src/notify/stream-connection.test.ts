import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebSocket } from 'ws';
import type { Category } from '../access/consent.ts';
import type { PatientScope } from '../access/readable-patients.ts';
import type { Identity } from '../access/session-guard.ts';
import { type ConnectionDeps, StreamConnection } from './stream-connection.ts';

/** A fake socket: records what is sent; the real `ws` path is covered by test/stream.test.ts. */
class FakeSocket extends EventEmitter {
  readonly sent: string[] = [];
  bufferedAmount = 0;
  closedWith: number | undefined;
  send(text: string): void {
    this.sent.push(text);
  }
  close(code: number): void {
    this.closedWith = code;
  }
  terminate(): void {}
  ping(): void {}
}

const identity = { kind: 'token', role: 'clinician', actor: 'token:t' } as unknown as Identity;

function connection(deps: Partial<ConnectionDeps>) {
  const ws = new FakeSocket();
  const conn = new StreamConnection(
    ws as unknown as WebSocket,
    {
      identity,
      topics: new Set(['readings', 'alerts']),
      patients: null,
      source: '127.0.0.1',
      reauthenticate: async () => identity,
    },
    {
      mayRead: async () => true,
      auditFirstDelivery: async () => {},
      sent: () => {},
      closed: () => {},
      onError: () => {},
      decisionTtlMs: 5_000,
      maxBufferedBytes: 1024 * 1024,
      maxQueued: 100,
      ...deps,
    },
  );
  return { ws, conn };
}

describe('stream connection gate', () => {
  it('withholds a frame the gate refuses even when the gate answers slower than the decision lifetime', async () => {
    const asked: Category[] = [];
    const { ws, conn } = connection({
      decisionTtlMs: 20,
      mayRead: async (_i, _p, category) => {
        asked.push(category);
        await sleep(60); // a busy database: longer than decisionTtlMs
        return false;
      },
    });
    conn.offer('readings', 'p-denied', '{"type":"readings","patientId":"p-denied"}');
    await sleep(150);
    assert.deepEqual(asked, ['vital-signs']);
    assert.deepEqual(ws.sent, []);
  });

  it('still delivers a frame the gate allows after a slow answer, audited once', async () => {
    let audits = 0;
    const { ws, conn } = connection({
      decisionTtlMs: 20,
      mayRead: async () => {
        await sleep(60);
        return true;
      },
      auditFirstDelivery: async () => {
        audits++;
      },
    });
    conn.offer('readings', 'p-ok', 'one');
    conn.offer('readings', 'p-ok', 'two');
    await sleep(250);
    assert.deepEqual(ws.sent, ['one', 'two']);
    assert.equal(audits, 1);
  });

  it("judges an unfiltered stream from the caller's whole scope, asked once per category and lifetime", async () => {
    const scopes: Category[] = [];
    let perPatient = 0;
    const { ws, conn } = connection({
      mayRead: async () => {
        perPatient++;
        return true;
      },
      scope: async (_i, category): Promise<PatientScope> => {
        scopes.push(category);
        return { only: new Set(['p-1', 'p-3']) };
      },
    });
    for (const p of ['p-1', 'p-2', 'p-3', 'p-4']) conn.offer('readings', p, `r:${p}`);
    conn.offer('alerts', 'p-3', 'a:p-3');
    conn.offer('alerts', 'p-2', 'a:p-2');
    await sleep(20);
    assert.deepEqual(ws.sent, ['r:p-1', 'r:p-3', 'a:p-3']);
    assert.deepEqual(scopes, ['vital-signs', 'alerts']);
    assert.equal(perPatient, 0, 'no question per patient');
  });

  it('asks for the scope again once it is older than the decision lifetime (a care-team link removed)', async () => {
    let onTeam = new Set(['p-1']);
    const { ws, conn } = connection({
      decisionTtlMs: 20,
      scope: async (): Promise<PatientScope> => ({ only: onTeam }),
    });
    conn.offer('readings', 'p-1', 'before');
    await sleep(10);
    onTeam = new Set();
    await sleep(40);
    conn.offer('readings', 'p-1', 'after');
    await sleep(10);
    assert.deepEqual(ws.sent, ['before']);
  });
});
