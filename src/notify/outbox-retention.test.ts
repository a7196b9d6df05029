import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  DeleteQueryNode,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';
import pino from 'pino';
import { Registry } from 'prom-client';
import { BACKENDS } from '../../test/support/backends.ts';
import { until } from '../../test/support/until.ts';
import { KeyRing } from '../crypto/key-ring.ts';
import { DeviceStore } from '../devices/devices.store.ts';
import type { Store } from '../store/database.ts';
import { DEVICE_EVENTS_CURSOR } from './device-events-outbox.ts';
import type { EmailState } from './email-deliveries.store.ts';
import { OutboxCursors } from './outbox-cursors.store.ts';
import { OutboxRetention, type OutboxRetentionOptions } from './outbox-retention.ts';
import { type DeliveryState, WebhookStore } from './webhooks.store.ts';

const DAY_MS = 86_400_000;
const NOW = Date.parse('2026-12-04T10:00:00Z');
const RETENTION_DAYS = 30;
/** Finished well before the retention, and just inside it. */
const OLD = NOW - (RETENTION_DAYS + 5) * DAY_MS;
const YOUNG = NOW - (RETENTION_DAYS - 1) * DAY_MS;

/** Watches the DELETE statements the pruner runs, and can hold their answer back (a pass in flight). */
class DeleteWatch implements KyselyPlugin {
  /** Rows each DELETE removed, in order. */
  readonly deleted: number[] = [];
  hold: Promise<void> | undefined;
  private readonly deletes = new WeakSet<object>();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (DeleteQueryNode.is(args.node)) this.deletes.add(args.queryId);
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.deletes.has(args.queryId)) {
      this.deleted.push(Number(args.result.numAffectedRows ?? 0n));
      await this.hold;
    }
    return args.result;
  }
}

for (const backend of BACKENDS) {
  describe(`notification outbox retention on ${backend.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let hooks: WebhookStore;
    let devices: DeviceStore;
    let cursors: OutboxCursors;
    let webhookId: string;
    let registry: Registry;
    let logLines: Array<Record<string, unknown>>;
    let watch: DeleteWatch;
    let pruner: OutboxRetention | undefined;
    let nextEventId = 1;

    beforeEach(async () => {
      ({ store, cleanup } = await backend.open());
      const keys = new KeyRing(store.db, { id: 'mk-test', key: randomBytes(32) });
      hooks = new WebhookStore(store.db, keys);
      devices = new DeviceStore(store.db);
      cursors = new OutboxCursors(store.db);
      registry = new Registry();
      logLines = [];
      watch = new DeleteWatch();
      webhookId = (
        await hooks.create({
          url: 'https://hooks.example.org/in',
          events: ['alert.raised'],
          description: 'pager',
          createdBy: 'user:admin',
          secret: 'whsec_dGVzdA==',
          nowMs: OLD - DAY_MS,
        })
      ).id;
    });
    afterEach(async () => {
      await pruner?.stop();
      pruner = undefined;
      await cleanup();
    });

    const prunerOf = (changes: Partial<OutboxRetentionOptions> = {}) => {
      const log = pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line)) });
      pruner = new OutboxRetention({
        db: store.db.withPlugin(watch),
        retentionDays: RETENTION_DAYS,
        registry,
        log,
        now: () => NOW,
        ...changes,
      });
      return pruner;
    };

    /** A webhook delivery queued a day before `finishedMs` and, unless pending, settled then. */
    const webhookDelivery = async (state: DeliveryState, finishedMs: number) => {
      const id = await hooks.enqueue(
        webhookId,
        'alert.raised',
        '{"type":"alert.raised"}',
        finishedMs - DAY_MS,
      );
      if (state !== 'pending') {
        const status = state === 'delivered' ? 200 : 410;
        await hooks.recordAttempt(
          id,
          { state, attempts: 1, nextAttemptMs: finishedMs, status, error: null },
          finishedMs,
        );
      }
      return id;
    };

    /** An e-mail delivery as the queue holds it; `claimedBy`: a sender holds it (a lease). */
    const emailDelivery = async (state: EmailState, finishedMs: number, claimedBy: string | null = null) => {
      const id = `em_${randomBytes(6).toString('hex')}`;
      await store.db
        .insertInto('email_deliveries')
        .values({
          id,
          alert_id: 'a-1',
          event_id: nextEventId++,
          kind: 'raise',
          member: 'nurse-a',
          state,
          attempts: state === 'pending' ? 0 : 1,
          next_attempt_ms: claimedBy === null ? finishedMs : NOW + 60_000,
          claimed_by: claimedBy,
          last_error: null,
          created_ms: finishedMs - DAY_MS,
          updated_ms: finishedMs,
        })
        .execute();
      return id;
    };

    /** A quarantine recorded at `atMs`, as the device store writes it; resolves with its event id. */
    const deviceEvent = async (atMs: number) => {
      const device = `ox-${randomBytes(4).toString('hex')}`;
      await devices.add({ id: device, model: 'TestOx', serial: `SN-${device}` }, atMs);
      await devices.quarantine(device, 'tampering', 'user:security', atMs);
      const events = await devices.eventsAfter(0, 10_000);
      return (events.find((e) => e.deviceId === device) as { id: number }).id;
    };

    const moveDeviceCursorTo = async (id: number) => {
      const from = await cursors.position(DEVICE_EVENTS_CURSOR);
      assert.ok(await cursors.advance(DEVICE_EVENTS_CURSOR, from, id, async () => {}));
    };

    const webhookIds = async () =>
      (await store.db.selectFrom('webhook_deliveries').select('id').orderBy('id').execute()).map((r) => r.id);
    const emailIds = async () =>
      (await store.db.selectFrom('email_deliveries').select('id').orderBy('id').execute()).map((r) => r.id);
    const deviceEventIds = async () =>
      (await store.db.selectFrom('device_events').select('id').orderBy('id').execute()).map((r) =>
        Number(r.id),
      );
    const sorted = (ids: string[]) => [...ids].sort();
    const prunedMetric = async (table: string) => {
      const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'vigil_outbox_pruned_total');
      return metric?.values.find((v) => v.labels.table === table)?.value;
    };

    it('deletes deliveries that finished before the retention and keeps the younger ones', async () => {
      await webhookDelivery('delivered', OLD);
      await webhookDelivery('dead', OLD);
      const youngHooks = [await webhookDelivery('delivered', YOUNG), await webhookDelivery('dead', YOUNG)];
      for (const state of ['sent', 'failed', 'no-address', 'withheld'] as const)
        await emailDelivery(state, OLD);
      const youngMail = [await emailDelivery('sent', YOUNG), await emailDelivery('failed', YOUNG)];

      const counts = await prunerOf().pruneNow();

      assert.deepEqual(counts, { email_deliveries: 4, webhook_deliveries: 2, device_events: 0 });
      assert.deepEqual(await webhookIds(), sorted(youngHooks));
      assert.deepEqual(await emailIds(), sorted(youngMail));
    });

    it('keeps the dead-letter list of the retention period, retried ones included', async () => {
      const dead = await webhookDelivery('dead', OLD);
      // Retried from the Webhooks screen: pending again, and young.
      await hooks.retry(dead, NOW - DAY_MS);
      await prunerOf().pruneNow();
      assert.deepEqual(await webhookIds(), [dead]);
    });

    it('never deletes a pending or leased delivery, however old', async () => {
      const longAgo = NOW - 3650 * DAY_MS;
      const kept = {
        hooks: [await webhookDelivery('pending', longAgo)],
        mail: [
          await emailDelivery('pending', longAgo),
          await emailDelivery('pending', longAgo, 'sender-1'),
          // Never written by the notifier (settle lets go of the claim), but were it: still held.
          await emailDelivery('sent', longAgo, 'sender-1'),
        ],
      };
      const counts = await prunerOf().pruneNow();
      assert.deepEqual(counts, { email_deliveries: 0, webhook_deliveries: 0, device_events: 0 });
      assert.deepEqual(await webhookIds(), kept.hooks);
      assert.deepEqual(await emailIds(), sorted(kept.mail));
    });

    it('deletes an old device event only once the relay cursor has passed it', async () => {
      const [first, second, third] = [await deviceEvent(OLD), await deviceEvent(OLD), await deviceEvent(OLD)];
      const young = await deviceEvent(YOUNG);
      await moveDeviceCursorTo(second as number);

      assert.equal((await prunerOf().pruneNow()).device_events, 2);
      assert.deepEqual(await deviceEventIds(), [third, young]);
      assert.ok(!(await deviceEventIds()).includes(first as number));

      // The relay moves on past the rest; the next pass takes the old one, and the young one stays.
      await moveDeviceCursorTo(young);
      assert.equal((await pruner?.pruneNow())?.device_events, 1);
      assert.deepEqual(await deviceEventIds(), [young]);
    });

    it('keeps every device event while the relay cursor is missing', async () => {
      const events = [await deviceEvent(OLD), await deviceEvent(OLD)];
      await store.db.deleteFrom('outbox_cursors').where('name', '=', DEVICE_EVENTS_CURSOR).execute();
      assert.equal((await prunerOf().pruneNow()).device_events, 0);
      assert.deepEqual(await deviceEventIds(), events);
    });

    it('works through a backlog larger than a batch, one bounded DELETE at a time', async () => {
      for (let i = 0; i < 8; i++) await webhookDelivery(i % 2 === 0 ? 'delivered' : 'dead', OLD - i);
      for (let i = 0; i < 7; i++) await emailDelivery('sent', OLD - i);
      let last = 0;
      for (let i = 0; i < 5; i++) last = await deviceEvent(OLD);
      await moveDeviceCursorTo(last);
      const young = await webhookDelivery('delivered', YOUNG);

      const counts = await prunerOf({ batchRows: 3 }).pruneNow();

      assert.deepEqual(counts, { email_deliveries: 7, webhook_deliveries: 8, device_events: 5 });
      assert.ok(
        watch.deleted.every((n) => n <= 3),
        `every DELETE removes at most a batch: ${watch.deleted}`,
      );
      assert.ok(watch.deleted.length >= 3 + 3 + 2, `the backlog takes several DELETEs: ${watch.deleted}`);
      assert.deepEqual(await webhookIds(), [young]);
      assert.deepEqual(await emailIds(), []);
      assert.deepEqual(await deviceEventIds(), []);
    });

    it('counts what it pruned per table in vigil_outbox_pruned_total, and logs counts only', async () => {
      const p = prunerOf();
      assert.equal(await prunedMetric('webhook_deliveries'), 0, 'shown at 0 before the first pass');
      await webhookDelivery('delivered', OLD);
      await webhookDelivery('dead', OLD);
      await emailDelivery('sent', OLD);
      await p.pruneNow();
      await webhookDelivery('delivered', OLD);
      await p.pruneNow();
      assert.equal(await prunedMetric('webhook_deliveries'), 3);
      assert.equal(await prunedMetric('email_deliveries'), 1);
      assert.equal(await prunedMetric('device_events'), 0);
      assert.match(await registry.metrics(), /vigil_outbox_pruned_total\{table="webhook_deliveries"\} 3/);

      const infoLines = logLines.filter((l) => l.msg === 'notification rows past their retention pruned');
      assert.equal(infoLines.length, 2, 'one line per pass that pruned something');
      assert.deepEqual(infoLines[0]?.pruned, {
        email_deliveries: 1,
        webhook_deliveries: 2,
        device_events: 0,
      });
      await p.pruneNow();
      assert.equal(logLines.length, 2, 'a pass that pruned nothing says nothing');
      assert.ok(!JSON.stringify(logLines).includes('alert.raised'), 'no payload reaches the log');
    });

    it('prunes once shortly after start', async () => {
      await webhookDelivery('delivered', OLD);
      prunerOf({ firstPassAfterMs: 0, intervalMs: 3_600_000 }).start();
      await until('the first pass', async () => ((await webhookIds()).length === 0 ? true : undefined));
    });

    it('prunes again at every interval', async () => {
      prunerOf({ firstPassAfterMs: 3_600_000, intervalMs: 20 }).start();
      await emailDelivery('failed', OLD);
      await until('a pass', async () => ((await emailIds()).length === 0 ? true : undefined));
      await webhookDelivery('dead', OLD);
      await until('the pass after it', async () => ((await webhookIds()).length === 0 ? true : undefined));
    });

    it('waits, when stopped, for the pass in flight, and runs no more', async () => {
      await webhookDelivery('delivered', OLD);
      await webhookDelivery('delivered', OLD);
      let release = () => {};
      watch.hold = new Promise<void>((r) => {
        release = r;
      });
      const p = prunerOf({ firstPassAfterMs: 0, intervalMs: 10, batchRows: 1 });
      p.start();
      await until('a DELETE in flight', () => (watch.deleted.length > 0 ? true : undefined));
      let isStopped = false;
      const stopping = p.stop().then(() => {
        isStopped = true;
      });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(isStopped, false, 'stop waits for the DELETE in flight');
      release();
      await stopping;
      // The pass ended after its batch in flight: the second row is left for the next start.
      assert.equal(watch.deleted.length, 1);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(watch.deleted.length, 1, 'no pass after stop');
      assert.equal((await webhookIds()).length, 1);
    });
  });
}
