/**
 * Quarantine and release as one durable step, on real SQLite and PostgreSQL: the status change
 * and its device_events row commit together (devices.store.ts), and the relay tailing the rows
 * (src/notify/device-events-outbox.ts) audits each event, queues its webhooks and records each
 * quarantine's security event once, whether it starts long after the event (a crash before
 * anything was queued) or another relay runs beside it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pino from 'pino';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { AuditLog } from '../src/audit/audit-log.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { registerSecurityRoutes } from '../src/detection/routes.ts';
import { type SecurityEvent, SecurityEvents } from '../src/detection/security-events.ts';
import { DeviceStore } from '../src/devices/devices.store.ts';
import { isVigilError } from '../src/errors/catalogue.ts';
import {
  DEVICE_EVENTS_CURSOR,
  type DeviceEventsOutboxDeps,
  DeviceEventsRelay,
  deviceEventAudit,
} from '../src/notify/device-events-outbox.ts';
import { OutboxCursors } from '../src/notify/outbox-cursors.store.ts';
import { WebhookStore } from '../src/notify/webhooks.store.ts';
import { newWebhookSecret } from '../src/notify/webhooks-signature.ts';
import { createMetrics } from '../src/observability/metrics.ts';
import type { Store } from '../src/store/database.ts';
import { BACKENDS } from './support/backends.ts';
import { testHttpServer } from './support/test-http-server.ts';

const T0 = Date.parse('2026-12-04T10:00:00Z');
const MASTER = { id: 'mk-test', key: randomBytes(32) };
const SECURITY = 'user:security-officer';

/** A process's security-event log; a new one for each simulated start. */
const securityLog = (store: Store) =>
  new SecurityEvents(store.db, pino({ level: 'silent' }), createMetrics());

/** Makes every insert into `table` fail after the row is written, until removed. */
async function failAfterInsertInto(
  store: Store,
  table: 'device_events' | 'security_events',
): Promise<() => Promise<void>> {
  const trigger = sql.id(`${table}_fail`);
  const on = sql.id(table);
  if (store.kind === 'sqlite') {
    await sql`CREATE TRIGGER ${trigger} AFTER INSERT ON ${on}
      BEGIN SELECT RAISE(ABORT, 'injected failure after the event row'); END`.execute(store.db);
    return async () => void (await sql`DROP TRIGGER ${trigger}`.execute(store.db));
  }
  await sql`CREATE FUNCTION ${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure after the event row'; END $$`.execute(store.db);
  await sql`CREATE TRIGGER ${trigger} AFTER INSERT ON ${on}
      FOR EACH ROW EXECUTE FUNCTION ${trigger}()`.execute(store.db);
  return async () => {
    await sql`DROP TRIGGER ${trigger} ON ${on}`.execute(store.db);
    await sql`DROP FUNCTION ${trigger}()`.execute(store.db);
  };
}

/** Makes every insert into device_events fail after the row is written, until removed. */
const failAfterEventRow = (store: Store) => failAfterInsertInto(store, 'device_events');

async function addDevice(devices: DeviceStore, id: string): Promise<string> {
  await devices.add({ id, model: 'TestOx', serial: `SN-${id}` }, T0);
  return id;
}

async function eventsOfDevice(devices: DeviceStore, id: string) {
  return (await devices.eventsAfter(0, 1000)).filter((e) => e.deviceId === id);
}

for (const backend of BACKENDS) {
  describe(`quarantine and its event on ${backend.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let devices: DeviceStore;
    // A store of its own: the failed transactions leave holes in PostgreSQL's ids (a sequence
    // does not roll back), which a relay would wait on (alert-outbox.test.ts tests that wait).
    before(async () => {
      ({ store, cleanup } = await backend.open());
      devices = new DeviceStore(store.db);
    });
    after(() => cleanup());

    const aDevice = (id: string) => addDevice(devices, id);
    const status = async (id: string) => (await devices.get(id))?.status;
    const eventsOf = (id: string) => eventsOfDevice(devices, id);

    it('commits the status change and its event together: a failure after both rolls both back', async () => {
      const id = await aDevice('ox-atomic');
      const restore = await failAfterEventRow(store);
      try {
        await assert.rejects(devices.quarantine(id, 'tampering', SECURITY, T0), /injected failure/);
      } finally {
        await restore();
      }
      assert.equal(await status(id), 'registered', 'the status change went with its event');
      assert.deepEqual(await eventsOf(id), []);

      await devices.quarantine(id, 'tampering', SECURITY, T0);
      assert.equal(await status(id), 'quarantined');
      const restoreAgain = await failAfterEventRow(store);
      try {
        await assert.rejects(devices.release(id, SECURITY, T0 + 1_000), /injected failure/);
      } finally {
        await restoreAgain();
      }
      assert.equal(await status(id), 'quarantined', 'a release that failed released nothing');
      assert.deepEqual(
        (await eventsOf(id)).map((e) => [e.type, e.actor, e.reason, e.atMs]),
        [['quarantined', SECURITY, 'tampering', T0]],
      );
    });

    it('records nothing for an unknown device, nor for releasing a device that is not quarantined', async () => {
      await assert.rejects(
        devices.quarantine('ox-nobody', 'tampering', SECURITY),
        (e: unknown) => isVigilError(e) && e.code === 'VIGIL_ERR_DEVICE_UNKNOWN',
      );
      await assert.rejects(
        devices.release('ox-nobody', SECURITY),
        (e: unknown) => isVigilError(e) && e.code === 'VIGIL_ERR_DEVICE_UNKNOWN',
      );
      const id = await aDevice('ox-free');
      assert.equal(await devices.release(id, SECURITY), false);
      assert.equal(await status(id), 'registered');
      assert.deepEqual(await eventsOf(id), []);
    });
  });

  describe(`device events relay on ${backend.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let devices: DeviceStore;
    let audit: AuditLog;
    let hooks: WebhookStore;
    /** This process's security-event log, and what it told its subscribers (the live stream). */
    let security: SecurityEvents;
    const streamed: SecurityEvent[] = [];
    /** Subscribes to quarantines only; the fleet desk to quarantines and releases. */
    let pager: string;
    let desk: string;

    before(async () => {
      ({ store, cleanup } = await backend.open());
      devices = new DeviceStore(store.db);
      audit = new AuditLog(store.db, store.sqlite);
      hooks = new WebhookStore(store.db, new KeyRing(store.db, MASTER));
      security = securityLog(store);
      security.subscribe((e) => streamed.push(e));
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
      pager = await subscribe(['device.quarantined']);
      desk = await subscribe(['device.quarantined', 'device.released']);
    });
    after(() => cleanup());

    const relayOn = (changes: Partial<DeviceEventsOutboxDeps> = {}) =>
      new DeviceEventsRelay({
        devices,
        cursors: new OutboxCursors(store.db),
        webhooks: hooks,
        audit,
        security,
        publicUrl: () => 'https://vigil.example.org',
        log: pino({ level: 'silent' }),
        onQueued: () => {},
        pollMs: 60_000,
        ...changes,
      });
    /** Starts the relay, lets its catch-up pass run to the end, and stops it. */
    const catchUp = async (relay: DeviceEventsRelay) => {
      relay.start();
      await relay.idle();
      await relay.stop();
    };
    const aDevice = (id: string) => addDevice(devices, id);
    const eventsOf = (id: string) => eventsOfDevice(devices, id);
    /** The deliveries queued about a device: "pager device.quarantined", sorted. */
    const queuedAbout = async (id: string) => {
      const rows = await store.db
        .selectFrom('webhook_deliveries')
        .select(['webhook_id', 'payload'])
        .execute();
      return rows
        .map((r) => ({ webhook: r.webhook_id, ...(JSON.parse(r.payload) as Payload) }))
        .filter((p) => p.data.deviceId === id)
        .map((p) => `${p.webhook === pager ? 'pager' : p.webhook === desk ? 'desk' : p.webhook} ${p.type}`)
        .sort();
    };
    const auditedAbout = async (id: string) =>
      (await audit.search({ limit: 100 }))
        .filter((r) => r.resource === `Device/${id}`)
        .map((r) => ({ ts: r.ts, actor: r.actor, action: r.action, purpose: r.purpose }))
        .reverse();
    const cursor = () => new OutboxCursors(store.db).position(DEVICE_EVENTS_CURSOR);
    /** The security events stored about a device: "code severity detail", oldest first. */
    const recordedAbout = async (id: string) =>
      (await securityLog(store).list({ limit: 100, deviceId: id }))
        .reverse()
        .map((e) => `${e.code} ${e.severity} ${e.detail}`);
    const streamedAbout = (id: string) => streamed.filter((e) => e.deviceId === id).map((e) => e.id);

    it('audits and announces, once, the steps committed before the relay started (a crash before queueing)', async () => {
      const id = await aDevice('ox-crash');
      await devices.quarantine(id, 'unexpected traffic', SECURITY, T0);
      await devices.release(id, SECURITY, T0 + 60_000);
      assert.deepEqual(await queuedAbout(id), [], 'nothing queued yet: the process died here');

      await catchUp(relayOn());
      const expected = ['desk device.quarantined', 'desk device.released', 'pager device.quarantined'];
      assert.deepEqual(await queuedAbout(id), expected);
      const [quarantined, released] = await eventsOf(id);
      assert.deepEqual(await auditedAbout(id), [
        {
          ts: T0,
          actor: SECURITY,
          action: 'device.quarantine',
          purpose: `unexpected traffic (device event ${quarantined?.id})`,
        },
        {
          ts: T0 + 60_000,
          actor: SECURITY,
          action: 'device.release',
          purpose: `device event ${released?.id}`,
        },
      ]);

      await catchUp(relayOn());
      assert.deepEqual(await queuedAbout(id), expected, 'a second start queues nothing again');
      assert.equal((await auditedAbout(id)).length, 2, 'and audits nothing again');
      assert.equal(await cursor(), released?.id);
    });

    it('sends the time of the step and no reason', async () => {
      const id = await aDevice('ox-payload');
      await devices.quarantine(id, 'seen on ward 4 near bed 12', SECURITY, T0 + 5_000);
      await catchUp(relayOn());
      const row = await store.db
        .selectFrom('webhook_deliveries')
        .select('payload')
        .where('webhook_id', '=', pager)
        .where('payload', 'like', `%${id}%`)
        .executeTakeFirstOrThrow();
      assert.deepEqual(JSON.parse(row.payload), {
        type: 'device.quarantined',
        timestamp: new Date(T0 + 5_000).toISOString(),
        data: { deviceId: id, link: 'https://vigil.example.org/fleet' },
      });
    });

    it('records a quarantine committed just before a crash as one security event at the next start, never again after', async () => {
      const id = await aDevice('ox-sec-crash');
      await devices.quarantine(id, 'unexpected traffic', SECURITY, T0);
      await devices.release(id, SECURITY, T0 + 60_000);
      assert.deepEqual(await recordedAbout(id), [], 'nothing recorded yet: the process died here');

      await catchUp(relayOn());
      const [quarantined] = await eventsOf(id);
      const recorded = [
        `VIGIL_ERR_DEVICE_QUARANTINED high device ${id} quarantined by ${SECURITY} (device event ${quarantined?.id})`,
      ];
      assert.deepEqual(await recordedAbout(id), recorded, 'the quarantine, and nothing for the release');
      const [stored] = await security.list({ limit: 1, deviceId: id });
      assert.equal(stored?.ts, T0, 'at the time of the quarantine, not of the relay');
      assert.deepEqual(
        streamedAbout(id),
        [stored?.id],
        'streamed once, after the commit, with its stored id',
      );

      // Another start, as another process: its own security-event log, nothing held in memory.
      await catchUp(relayOn({ security: securityLog(store) }));
      await catchUp(relayOn());
      assert.deepEqual(await recordedAbout(id), recorded, 'a restart records nothing again');
      assert.equal(streamedAbout(id).length, 1);
    });

    it('records the security event with the webhooks or not at all: a pass that fails leaves both to the next', async () => {
      const id = await aDevice('ox-sec-rollback');
      await devices.quarantine(id, 'tampering', SECURITY, T0);
      const from = await cursor();
      const restore = await failAfterInsertInto(store, 'security_events');
      try {
        await catchUp(relayOn({ storeRetryBaseMs: 60_000 }));
      } finally {
        await restore();
      }
      assert.equal(await cursor(), from, 'the cursor did not move');
      assert.deepEqual(await queuedAbout(id), []);
      assert.deepEqual(await recordedAbout(id), []);
      assert.deepEqual(streamedAbout(id), [], 'nothing streamed that was not stored');

      await catchUp(relayOn());
      assert.deepEqual(await queuedAbout(id), ['desk device.quarantined', 'pager device.quarantined']);
      assert.equal((await recordedAbout(id)).length, 1);
      assert.equal(streamedAbout(id).length, 1);
      assert.equal(
        (await auditedAbout(id)).length,
        1,
        'the entry the failed pass wrote is not written again',
      );
    });

    it('shows the recorded quarantine in the security-events list', async () => {
      const id = await aDevice('ox-sec-list');
      await devices.quarantine(id, 'tampering', SECURITY, T0 + 7_000);
      await catchUp(relayOn());
      const tokens = new ApiTokens(store.db);
      const { app } = await testHttpServer(tokens);
      registerSecurityRoutes(app, security);
      await app.ready();
      try {
        const { token } = await tokens.create({ role: 'auditor', name: 'security-reader', ttlSeconds: 600 });
        const r = await app.inject({
          url: `/api/v1/security/events?device=${id}&code=VIGIL_ERR_DEVICE_QUARANTINED`,
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(r.statusCode, 200, r.body);
        const { events } = r.json() as { events: Array<Record<string, unknown>> };
        assert.deepEqual(
          events.map((e) => [e.code, e.severity, e.ts, e.deviceId]),
          [['VIGIL_ERR_DEVICE_QUARANTINED', 'high', new Date(T0 + 7_000).toISOString(), id]],
        );
      } finally {
        await app.close();
      }
    });

    it('does not audit again an event whose entry was written just before a crash', async () => {
      const id = await aDevice('ox-half');
      await devices.quarantine(id, 'tampering', SECURITY, T0);
      // The last pass appended the entry and died before its cursor moved.
      const [event] = await eventsOf(id);
      await audit.append(deviceEventAudit(event!), event!.atMs);

      await catchUp(relayOn());
      assert.equal((await auditedAbout(id)).length, 1);
      assert.deepEqual(await queuedAbout(id), ['desk device.quarantined', 'pager device.quarantined']);
    });

    it('hands each event on once when another relay overtakes it between its read and its commit', async () => {
      const id = await aDevice('ox-overtaken');
      await devices.quarantine(id, 'tampering', SECURITY, T0);
      const second = relayOn();
      let isOvertaken = false;
      const first = relayOn({
        audit: {
          // Called after the first relay has read the events and before its transaction.
          search: async (q) => {
            if (!isOvertaken) {
              isOvertaken = true;
              await catchUp(second);
            }
            return audit.search(q);
          },
          append: (input, nowMs) => audit.append(input, nowMs),
        },
      });
      await catchUp(first);
      assert.ok(isOvertaken);
      assert.deepEqual(await queuedAbout(id), ['desk device.quarantined', 'pager device.quarantined']);
      assert.equal((await auditedAbout(id)).length, 1);
      assert.equal((await recordedAbout(id)).length, 1, 'one security event');
      assert.equal(streamedAbout(id).length, 1);
      assert.equal(await cursor(), (await eventsOf(id))[0]?.id);
    });

    it('queues each event once when two relays run at the same time', async () => {
      const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => aDevice(`ox-pair-${i}`)));
      for (const id of ids) await devices.quarantine(id, 'tampering', SECURITY, T0);
      const one = relayOn({ batchEvents: 5 });
      const two = relayOn({ batchEvents: 5 });
      one.start();
      two.start();
      await Promise.all([one.idle(), two.idle()]);
      await Promise.all([one.stop(), two.stop()]);
      for (const id of ids) {
        assert.deepEqual(await queuedAbout(id), ['desk device.quarantined', 'pager device.quarantined'], id);
        assert.equal((await recordedAbout(id)).length, 1, `one security event for ${id}`);
      }
      assert.equal(await cursor(), (await eventsOf(ids.at(-1)!))[0]?.id);
    });
  });
}

interface Payload {
  type: string;
  timestamp: string;
  data: { deviceId: string; link: string };
}
