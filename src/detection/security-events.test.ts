import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { BACKENDS } from '../../test/support/backends.ts';
import { createMetrics } from '../observability/metrics.ts';
import { type SecurityEvent, SecurityEvents } from './security-events.ts';

describe('security events', () => {
  for (const backend of BACKENDS) {
    it(`tells subscribers each stored event with the id the store gave it (${backend.name})`, async () => {
      const { store, cleanup } = await backend.open();
      try {
        const events = new SecurityEvents(store.db, pino({ level: 'silent' }), createMetrics());
        const heard: SecurityEvent[] = [];
        events.subscribe((e) => heard.push(e));
        events.record({ code: 'VIGIL_ERR_INGEST_BAD_JSON', detail: 'first', deviceId: 'd-1' });
        events.record({ code: 'VIGIL_ERR_MQTT_TOPIC_DENIED', detail: 'second', remoteAddress: '10.0.0.9' });
        events.record({ code: 'VIGIL_ERR_INGEST_REPLAY', detail: 'x'.repeat(600), deviceId: 'd-2' });
        assert.equal(heard.length, 0, 'nothing is told before it is stored');
        await events.flush();
        const listed = (await events.list({ limit: 10 })).reverse();
        assert.deepEqual(
          heard.map((e) => [e.id, e.code, e.detail.length, e.severity]),
          listed.map((e) => [e.id, e.code, e.detail.length, e.severity]),
        );
        assert.deepEqual(
          heard.map((e) => e.detail.length),
          [5, 6, 500],
        );
      } finally {
        await cleanup();
      }
    });
  }

  for (const backend of BACKENDS) {
    it(`stores an event in the caller's transaction, and tells it only when announced (${backend.name})`, async () => {
      const { store, cleanup } = await backend.open();
      try {
        const events = new SecurityEvents(store.db, pino({ level: 'silent' }), createMetrics());
        const heard: SecurityEvent[] = [];
        events.subscribe((e) => heard.push(e));
        const quarantined = {
          code: 'VIGIL_ERR_DEVICE_QUARANTINED',
          detail: 'quarantined',
          deviceId: 'd-3',
        } as const;
        await assert.rejects(
          store.db.transaction().execute(async (tx) => {
            await events.storeIn(tx, quarantined, 1_000);
            throw new Error('the relay lost its cursor');
          }),
          /lost its cursor/,
        );
        assert.deepEqual(await events.list({ limit: 10 }), [], 'rolled back with the transaction');
        const stored = await store.db.transaction().execute((tx) => events.storeIn(tx, quarantined, 2_000));
        assert.equal(heard.length, 0, 'nothing is told before the caller announces it');
        events.announce([stored]);
        const fields = (e: SecurityEvent) => [e.id, e.ts, e.code, e.severity, e.detail, e.deviceId];
        assert.deepEqual((await events.list({ limit: 10 })).map(fields), [fields(stored)]);
        assert.deepEqual(heard, [stored]);
        assert.deepEqual([stored.ts, stored.severity], [2_000, 'high']);
      } finally {
        await cleanup();
      }
    });
  }

  it('keeps storing when a subscriber throws', async () => {
    const { store, cleanup } = await BACKENDS[0]!.open();
    try {
      const events = new SecurityEvents(store.db, pino({ level: 'silent' }), createMetrics());
      events.subscribe(() => {
        throw new Error('listener fault');
      });
      const heard: number[] = [];
      events.subscribe((e) => heard.push(e.id));
      events.record({ code: 'VIGIL_ERR_INGEST_BAD_JSON', detail: 'a' });
      events.record({ code: 'VIGIL_ERR_INGEST_BAD_JSON', detail: 'b' });
      await events.flush();
      assert.equal(heard.length, 2);
      assert.equal((await events.list({ limit: 10 })).length, 2);
    } finally {
      await cleanup();
    }
  });

  describe('under a flood from one source', () => {
    const ENROLL = 'VIGIL_ERR_ENROLL_BAD_TOKEN' as const;
    const refusedEnrolment = (deviceId: string, remoteAddress = '203.0.113.7') => ({
      code: ENROLL,
      detail: 'the enrollment token is unknown',
      deviceId,
      remoteAddress,
    });
    const refusalsCounted = async (metrics: ReturnType<typeof createMetrics>, code: string) =>
      (await metrics.refusals.get()).values.find((v) => v.labels.code === code)?.value ?? 0;

    const withEvents = async (
      work: (
        events: SecurityEvents,
        metrics: ReturnType<typeof createMetrics>,
        clock: { ms: number },
      ) => Promise<void>,
    ) => {
      const { store, cleanup } = await BACKENDS[0]!.open();
      const clock = { ms: Date.parse('2026-03-01T10:00:00Z') };
      const metrics = createMetrics();
      const events = new SecurityEvents(store.db, pino({ level: 'silent' }), metrics, () => clock.ms);
      try {
        await work(events, metrics, clock);
      } finally {
        await events.flush();
        await cleanup();
      }
    };

    it('stores a repeated refusal once and one row counting the repeats, and counts each in metrics', async () => {
      await withEvents(async (events, metrics) => {
        for (let i = 0; i < 1000; i++) events.record(refusedEnrolment('ghost-1'));
        await events.flush();
        const rows = await events.list({ limit: 100 });
        assert.equal(rows.length, 2);
        assert.deepEqual(
          rows.map((e) => [e.code, e.deviceId, e.remoteAddress]),
          [
            [ENROLL, 'ghost-1', '203.0.113.7'],
            [ENROLL, 'ghost-1', '203.0.113.7'],
          ],
        );
        assert.match(rows[0]!.detail, /^repeated 999 more times since 2026-03-01T10:00:00.000Z/);
        assert.equal(await refusalsCounted(metrics, ENROLL), 1000);
      });
    });

    it('keeps refusals that differ in device, address or detail apart', async () => {
      await withEvents(async (events) => {
        events.record(refusedEnrolment('ghost-1'));
        events.record(refusedEnrolment('ghost-2'));
        events.record(refusedEnrolment('ghost-1', '198.51.100.4'));
        events.record({ ...refusedEnrolment('ghost-1'), detail: 'another reason' });
        await events.flush();
        assert.equal((await events.list({ limit: 100 })).length, 4);
      });
    });

    it('stores no more than MAX_KINDS_PER_SOURCE different refusals per window, then one summary', async () => {
      await withEvents(async (events, metrics) => {
        const max = SecurityEvents.MAX_KINDS_PER_SOURCE;
        for (let i = 0; i < max + 250; i++) events.record(refusedEnrolment(`ghost-${i}`));
        // Another source is not held back by the first one's flood.
        events.record(refusedEnrolment('ghost-1', '198.51.100.4'));
        await events.flush();
        const rows = await events.list({ limit: 1000 });
        assert.equal(rows.length, max + 2);
        assert.ok(rows.some((e) => e.remoteAddress === '198.51.100.4'));
        assert.ok(
          rows.some((e) =>
            /^250 more refusals from this source .* VIGIL_ERR_ENROLL_BAD_TOKEN x250$/.test(e.detail),
          ),
        );
        assert.equal(await refusalsCounted(metrics, ENROLL), max + 251);
      });
    });

    it('stores a refusal again once its window has ended', async () => {
      await withEvents(async (events, _metrics, clock) => {
        for (let i = 0; i < 10; i++) events.record(refusedEnrolment('ghost-1'));
        clock.ms += SecurityEvents.WINDOW_MS;
        events.record(refusedEnrolment('ghost-1'));
        await events.flush();
        const details = (await events.list({ limit: 100 })).map((e) => e.detail).reverse();
        assert.equal(details.length, 3);
        assert.match(details[1]!, /^repeated 9 more times/);
        assert.equal(details[2], 'the enrollment token is unknown');
      });
    });

    it('tells subscribers of a summary row like any other event', async () => {
      await withEvents(async (events) => {
        const heard: string[] = [];
        events.subscribe((e) => heard.push(e.detail));
        for (let i = 0; i < 3; i++) events.record(refusedEnrolment('ghost-1'));
        await events.flush();
        assert.equal(heard.length, 2);
        assert.match(heard[1]!, /^repeated 2 more times/);
      });
    });
  });
});
