/**
 * The alert outbox relay (src/notify/alert-outbox.ts) on real SQLite and PostgreSQL: what it
 * makes of alert_events, and that relays sharing one database queue each event once, because
 * the cursor moves by compare-and-set in the transaction that queues the deliveries.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { AlertStore } from '../src/clinical/alerts/alerts.store.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import {
  type AlertOutboxDeps,
  AlertOutboxRelay,
  WEBHOOK_ALERT_EVENTS_CURSOR,
} from '../src/notify/alert-outbox.ts';
import { OutboxCursors } from '../src/notify/outbox-cursors.store.ts';
import { WebhookStore } from '../src/notify/webhooks.store.ts';
import { newWebhookSecret } from '../src/notify/webhooks-signature.ts';
import { openStore, type Store } from '../src/store/database.ts';
import { anAlert, writeStep } from './support/alert-steps.ts';
import { TEST_PG_URL } from './support/backends.ts';

const T0 = Date.parse('2026-12-04T10:00:00Z');
const MASTER = { id: 'mk-test', key: randomBytes(32) };
const PATIENT_KEY = randomBytes(32);
const keyOf = async () => PATIENT_KEY;

/** Two stores (connections, pools) on one database, as two Vigil processes would open it. */
async function openTwice(kind: 'sqlite' | 'postgres'): Promise<[Store, Store, () => Promise<void>]> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-outbox-'));
    const a = await openStore({ dataDir: dir });
    const b = await openStore({ dataDir: dir });
    const cleanup = async () => {
      await Promise.all([a.close(), b.close()]);
      rmSync(dir, { recursive: true, force: true });
    };
    return [a, b, cleanup];
  }
  const pgSchema = `vigil_outbox_${randomBytes(6).toString('hex')}`;
  const a = await openStore({ dataDir: '', databaseUrl: TEST_PG_URL, pgSchema });
  const b = await openStore({ dataDir: '', databaseUrl: TEST_PG_URL, pgSchema });
  const cleanup = async () => {
    await Promise.all([a.close(), b.close()]);
    const client = new pg.Client({ connectionString: TEST_PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${pgSchema}" CASCADE`);
    await client.end();
  };
  return [a, b, cleanup];
}

/** Records whether each of its compare-and-sets moved the cursor. */
class WatchedCursors extends OutboxCursors {
  readonly moves: boolean[] = [];
  override async advance(...args: Parameters<OutboxCursors['advance']>): Promise<boolean> {
    const isMoved = await super.advance(...args);
    this.moves.push(isMoved);
    return isMoved;
  }
}

function relayOn(store: Store, changes: Partial<AlertOutboxDeps> = {}) {
  const cursors = new WatchedCursors(store.db);
  const relay = new AlertOutboxRelay({
    alerts: new AlertStore(store.db, keyOf),
    cursors,
    webhooks: new WebhookStore(store.db, new KeyRing(store.db, MASTER)),
    mayDisclose: async (patientId) => patientId !== 'p-refuses',
    publicUrl: () => 'https://vigil.example.org',
    log: pino({ level: 'silent' }),
    onQueued: () => {},
    pollMs: 60_000,
    ...changes,
  });
  return { relay, cursors };
}

/** Starts the relay, lets its catch-up pass run to the end, and stops it. */
async function catchUp(relay: AlertOutboxRelay): Promise<void> {
  relay.start();
  await relay.idle();
  await relay.stop();
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`alert outbox relay on ${kind}`, () => {
    let a: Store;
    let b: Store;
    let cleanup: () => Promise<void>;
    let alerts: AlertStore;
    /** Subscribes to raised and acknowledged; the ward to every alert event. */
    let pager: string;
    let ward: string;

    before(async () => {
      [a, b, cleanup] = await openTwice(kind);
      alerts = new AlertStore(a.db, keyOf);
      const hooks = new WebhookStore(a.db, new KeyRing(a.db, MASTER));
      const subscribe = async (events: string[]) =>
        (
          await hooks.create({
            url: 'https://hooks.example.org/in',
            events,
            description: '',
            createdBy: 'user:admin',
            secret: newWebhookSecret(),
            nowMs: T0,
          })
        ).id;
      pager = await subscribe(['alert.raised', 'alert.acknowledged']);
      ward = await subscribe(['alert.raised', 'alert.escalated', 'alert.acknowledged', 'alert.resolved']);
    });
    after(() => cleanup());

    /** The deliveries queued for these alerts, one "webhook type alert" line each, sorted. */
    const queuedFor = async (alertIds: readonly string[]) => {
      const rows = await a.db.selectFrom('webhook_deliveries').select(['webhook_id', 'payload']).execute();
      return rows
        .map((r) => ({ webhook: r.webhook_id, ...(JSON.parse(r.payload) as Payload) }))
        .filter((p) => alertIds.includes(p.data.alertId))
        .map((p) => ({
          ...p,
          line: `${p.webhook === pager ? 'pager' : p.webhook === ward ? 'ward' : p.webhook} ${p.type} ${p.data.alertId}`,
        }))
        .sort((x, y) => x.line.localeCompare(y.line));
    };
    const cursor = () => new OutboxCursors(a.db).position(WEBHOOK_ALERT_EVENTS_CURSOR);
    const newestEvent = async () =>
      Number(
        (
          await a.db
            .selectFrom('alert_events')
            .select((eb) => eb.fn.max('id').as('id'))
            .executeTakeFirstOrThrow()
        ).id,
      );
    const raiseMany = async (n: number) => {
      const ids = Array.from({ length: n }, () => randomUUID());
      // One unresolved alert per patient, condition and device: each its own device.
      for (const id of ids) await writeStep(alerts, anAlert(id, 'p-ok', T0, { deviceId: id }), 'raise', T0);
      return ids;
    };

    it('announces the webhook steps of alerts it may disclose, as of each step, and moves past the rest', async () => {
      const x = anAlert(randomUUID(), 'p-ok', T0);
      await writeStep(alerts, x, 'raise', T0);
      await writeStep(alerts, { ...x, snoozedUntilMs: T0 + 600_000 }, 'snooze', T0 + 1_000);
      const acked = {
        ...x,
        state: 'acknowledged' as const,
        acknowledgedBy: 'dr-a',
        acknowledgedMs: T0 + 2_000,
      };
      await writeStep(alerts, acked, 'acknowledge', T0 + 2_000);
      const refused = anAlert(randomUUID(), 'p-refuses', T0);
      await writeStep(alerts, refused, 'raise', T0);
      const erased = anAlert(randomUUID(), 'p-erased', T0);
      await writeStep(alerts, erased, 'raise', T0);
      await a.db
        .insertInto('patients')
        .values({
          id: 'p-erased',
          sealed_identity: Buffer.from('gone'),
          created_at: T0,
          erased_at: T0 + 5_000,
        })
        .execute();

      await catchUp(relayOn(a).relay);

      const queued = await queuedFor([x.id, refused.id, erased.id]);
      assert.deepEqual(
        queued.map((q) => q.line),
        [
          `pager alert.acknowledged ${x.id}`,
          `pager alert.raised ${x.id}`,
          `ward alert.acknowledged ${x.id}`,
          `ward alert.raised ${x.id}`,
        ],
      );
      const raised = queued.find((q) => q.type === 'alert.raised')!;
      assert.equal(raised.timestamp, new Date(T0).toISOString(), "the event's time, not the relay's");
      assert.equal(raised.data.state, 'open', 'the state the step left it in');
      assert.equal(raised.data.acknowledgedAt, new Date(T0 + 2_000).toISOString(), 'other fields as read');
      assert.equal(queued.find((q) => q.type === 'alert.acknowledged')?.data.state, 'acknowledged');
      assert.equal(await cursor(), await newestEvent());
    });

    it('queues each event once when another relay overtakes it between its read and its commit', async () => {
      const ids = await raiseMany(5);
      const second = relayOn(b);
      let isOvertaken = false;
      const first = relayOn(a, {
        // Called after the first relay has read the events and before its transaction.
        mayDisclose: async () => {
          if (!isOvertaken) {
            isOvertaken = true;
            await catchUp(second.relay);
          }
          return true;
        },
      });
      await catchUp(first.relay);
      assert.deepEqual(second.cursors.moves, [true]);
      assert.deepEqual(first.cursors.moves, [false], 'its compare-and-set failed, and it then found nothing');
      const queued = await queuedFor(ids);
      assert.equal(queued.length, ids.length * 2);
      assert.equal(new Set(queued.map((q) => q.line)).size, queued.length, 'no delivery twice');
      assert.equal(await cursor(), await newestEvent());
    });

    it('queues each event once when two relays run at the same time', async () => {
      const ids = await raiseMany(60);
      // Two SQLite connections in one process would sleep in SQLite's busy handler on the event
      // loop; relays in two processes meet the lock, as the CLI does. Here both share one.
      const other = kind === 'sqlite' ? a : b;
      const one = relayOn(a, { batchEvents: 7 });
      const two = relayOn(other, { batchEvents: 7 });
      one.relay.start();
      two.relay.start();
      await Promise.all([one.relay.idle(), two.relay.idle()]);
      await Promise.all([one.relay.stop(), two.relay.stop()]);
      const queued = await queuedFor(ids);
      assert.equal(queued.length, ids.length * 2);
      assert.equal(new Set(queued.map((q) => q.line)).size, queued.length, 'no delivery twice');
      assert.equal(await cursor(), await newestEvent());
    });

    it('writes no alert step whose history event could not be written', async () => {
      const x = anAlert(randomUUID(), 'p-ok', T0, { deviceId: randomUUID() });
      const event = { ts: T0, actor: 'system:alerts', action: 'raise', detail: 'raised' };
      await sql`ALTER TABLE alert_events RENAME TO alert_events_away`.execute(a.db);
      try {
        await assert.rejects(alerts.saveStep(x, { isNew: true, event }), /alert_events/);
      } finally {
        await sql`ALTER TABLE alert_events_away RENAME TO alert_events`.execute(a.db);
      }
      assert.equal(await alerts.get(x.id), undefined, 'the row went with its event');
      await alerts.saveStep(x, { isNew: true, event });
      assert.equal((await alerts.events(x.id)).length, 1);
    });

    it('waits on a hole in the event ids, relays what fills it in order, and passes one that stays', async () => {
      const n0 = await newestEvent();
      const raiseAs = async (id: number) => {
        const x = anAlert(randomUUID(), 'p-ok', T0, { deviceId: randomUUID() });
        await alerts.insert(x);
        await a.db
          .insertInto('alert_events')
          .values({ id, alert_id: x.id, ts: T0, actor: 'system:alerts', action: 'raise', detail: 'raised' })
          .execute();
        return x.id;
      };
      let nowMs = T0;
      const { relay } = relayOn(a, { now: () => nowMs, gapWaitMs: 5_000 });
      relay.start();
      try {
        // Event n0+2 is visible before n0+1: another process's insert has not committed yet.
        const late = await raiseAs(n0 + 2);
        await relay.idle();
        assert.equal(await cursor(), n0, 'held at the hole');
        assert.deepEqual(await queuedFor([late]), []);
        const early = await raiseAs(n0 + 1);
        relay.kick();
        await relay.idle();
        assert.equal(await cursor(), n0 + 2);
        const both = await a.db
          .selectFrom('webhook_deliveries')
          .select(['payload', 'created_ms'])
          .where('webhook_id', '=', ward)
          .execute();
        const order = both
          .map((d) => (JSON.parse(d.payload) as Payload).data.alertId)
          .filter((id) => id === early || id === late);
        assert.deepEqual(order, [early, late], 'in id order');
        // n0+3 never comes (its transaction rolled back): passed once it has stayed 5 s.
        const after = await raiseAs(n0 + 4);
        relay.kick();
        await relay.idle();
        nowMs += 4_000;
        relay.kick();
        await relay.idle();
        assert.equal(await cursor(), n0 + 2, 'still waiting after 4 s');
        nowMs += 1_000;
        relay.kick();
        await relay.idle();
        assert.equal(await cursor(), n0 + 4);
        assert.equal((await queuedFor([after])).length, 2);
      } finally {
        await relay.stop();
        // Explicit ids do not move PostgreSQL's sequence; later inserts must not meet them.
        if (kind === 'postgres') {
          await sql`SELECT setval(pg_get_serial_sequence('alert_events', 'id'), (SELECT max(id) FROM alert_events))`.execute(
            a.db,
          );
        }
      }
    });

    if (kind === 'postgres') {
      it('leaves no delivery behind for a webhook removed while the relay queues for it', async () => {
        const hooksA = new WebhookStore(a.db, new KeyRing(a.db, MASTER));
        const hooksB = new WebhookStore(b.db, new KeyRing(b.db, MASTER));
        const doomed = (
          await hooksA.create({
            url: 'https://gone.example.org/in',
            events: ['alert.raised'],
            description: '',
            createdBy: 'user:admin',
            secret: newWebhookSecret(),
            nowMs: T0,
          })
        ).id;
        await raiseMany(1);
        let removal: Promise<boolean> | undefined;
        const { relay } = relayOn(a, {
          webhooks: {
            // Between the relay's read of the subscribers and its insert, an administrator on
            // another connection removes one of them.
            enqueueForSubscribers: (tx, events, nowMs) => {
              const racing = new Proxy(tx, {
                get(target, prop) {
                  const value = Reflect.get(target, prop, target);
                  if (prop !== 'insertInto' || removal)
                    return typeof value === 'function' ? value.bind(target) : value;
                  return (table: 'webhook_deliveries') => ({
                    values: (rows: never) => ({
                      execute: async () => {
                        removal = hooksB.delete(doomed);
                        await sleep(300);
                        return target.insertInto(table).values(rows).execute();
                      },
                    }),
                  });
                },
              });
              return hooksA.enqueueForSubscribers(racing, events, nowMs);
            },
          },
        });
        await catchUp(relay);
        assert.equal(await removal, true);
        const left = await a.db
          .selectFrom('webhook_deliveries')
          .select('id')
          .where('webhook_id', '=', doomed)
          .execute();
        assert.deepEqual(left, []);
      });
    }
  });
}

describe('alert outbox relay when its store fails', () => {
  let store: Store;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-outbox-'));
    store = await openStore({ dataDir: dir });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('backs off and logs once while the events cannot be read, and catches up when they can', async () => {
    const alerts = new AlertStore(store.db, keyOf);
    await new WebhookStore(store.db, new KeyRing(store.db, MASTER)).create({
      url: 'https://hooks.example.org/in',
      events: ['alert.raised'],
      description: '',
      createdBy: 'user:admin',
      secret: newWebhookSecret(),
      nowMs: T0,
    });
    const id = randomUUID();
    await writeStep(alerts, anAlert(id, 'p-ok', T0), 'raise', T0);
    let isFailing = true;
    let reads = 0;
    const logged: string[] = [];
    const { relay } = relayOn(store, {
      alerts: {
        eventsAfter: (...args) => {
          reads++;
          if (isFailing) throw new Error('SQLITE_IOERR: disk I/O error');
          return alerts.eventsAfter(...args);
        },
        withoutValues: (ids) => alerts.withoutValues(ids),
      },
      log: pino({ level: 'info' }, { write: (line: string) => logged.push(line) }),
      pollMs: 10,
      storeRetryBaseMs: 100,
    });
    relay.start();
    try {
      await sleep(500);
      assert.ok(reads <= 6, `the events were read ${reads} times in 500 ms, polling every 10`);
      assert.equal(logged.length, 1, logged.join(''));
      isFailing = false;
      for (let i = 0; i < 100 && logged.length < 2; i++) await sleep(20);
      assert.match(logged[1] ?? '', /relayed to webhooks again/);
      const queued = await store.db.selectFrom('webhook_deliveries').select('payload').execute();
      assert.equal(queued.filter((q) => q.payload.includes(id)).length, 1);
    } finally {
      await relay.stop();
    }
  });
});

interface Payload {
  type: string;
  timestamp: string;
  data: { alertId: string; state: string; acknowledgedAt: string | null };
}
