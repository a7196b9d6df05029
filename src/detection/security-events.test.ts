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
});
