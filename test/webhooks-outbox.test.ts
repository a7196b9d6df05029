/**
 * Alert webhooks from the outbox, end to end: a real Vigil and receiver. Alert steps committed
 * while notifications were not running (a crash between the commit and the queueing) go out
 * after the next start, once per subscriber; a restart sends nothing twice. The poll is set to a
 * minute, so what arrives came from the catch-up at start or from the engine's kick.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Alert } from '../src/clinical/alerts/alert-lifecycle.ts';
import { AlertStore } from '../src/clinical/alerts/alerts.store.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { loadMasterKeyFile } from '../src/crypto/master-key.ts';
import { openStore } from '../src/store/database.ts';
import { anAlert, writeStep } from './support/alert-steps.ts';
import { until } from './support/until.ts';
import type { Harness } from './support/vigil-harness.ts';
import { startWebhookHarness } from './support/webhook-harness.ts';
import type { Receiver } from './support/webhook-receiver.ts';

const MINUTE_MS = 60_000;

describe('alert webhooks from the outbox', () => {
  let h: Harness;
  let receiver: Receiver;
  let stop: () => Promise<void>;

  before(async () => {
    const started = await startWebhookHarness();
    ({ h, receiver, stop } = started);
    await started.subscribe('pager', ['alert.raised', 'alert.acknowledged']);
    await started.subscribe('ward', [
      'alert.raised',
      'alert.escalated',
      'alert.acknowledged',
      'alert.resolved',
    ]);
    for (const patientId of ['p-down', 'p-shy']) {
      await h.vigil.patients.add(patientId, { name: `Test ${patientId}` });
      await h.care(patientId);
    }
    const deny = await h.api('/api/v1/patients/p-shy/consents', {
      method: 'POST',
      body: { decision: 'deny', purposes: ['*'], categories: ['alerts'] },
    });
    assert.equal(deny.status, 201, deny.text);
  });
  after(() => stop());

  /** Writes alert steps into the stopped server's database, as a crash right after commit leaves them. */
  const whileDown = (write: (alerts: AlertStore) => Promise<void>) => async () => {
    const store = await openStore({ dataDir: h.dataDir });
    try {
      const keys = new KeyRing(store.db, loadMasterKeyFile(h.config.masterKeyFile));
      await write(new AlertStore(store.db, (patientId) => keys.dataKey('patient', patientId)));
    } finally {
      await store.close();
    }
  };
  /** What each subscriber was sent about an alert: "pager alert.raised", sorted. */
  const sentAbout = (alertId: string) =>
    receiver.received
      .filter((r) => r.body.includes(alertId))
      .map((r) => `${r.path.split('/').at(-1)} ${(JSON.parse(r.body) as { type: string }).type}`)
      .sort();
  const queuedAbout = async (alertId: string) =>
    (
      await h.vigil.store.db
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('payload', 'like', `%${alertId}%`)
        .execute()
    ).length;
  const untilSent = (alertId: string, count: number) =>
    until(`${count} deliveries about ${alertId}`, () =>
      sentAbout(alertId).length >= count ? sentAbout(alertId) : undefined,
    );

  const down = anAlert(randomUUID(), 'p-down', Date.now() - 10 * MINUTE_MS);
  const shy = anAlert(randomUUID(), 'p-shy', Date.now() - 10 * MINUTE_MS, { deviceId: 'cgm-shy' });
  // Assigned, so that no escalation tick of the engine adds a step of its own meanwhile.
  const next = anAlert(randomUUID(), 'p-down', Date.now(), {
    deviceId: 'cgm-next',
    assignedTo: 'test-clinician',
  });

  it('announces after a start the alert steps committed while notifications were down, once per subscriber', async () => {
    const t0 = down.openedMs;
    await h.restart(
      whileDown(async (alerts) => {
        await writeStep(alerts, down, 'raise', t0);
        await writeStep(alerts, { ...down, snoozedUntilMs: t0 + 15 * MINUTE_MS }, 'snooze', t0 + 1_000);
        const escalated: Alert = { ...down, escalationLevel: 1, assignedTo: 'test-clinician' };
        await writeStep(alerts, escalated, 'escalate', t0 + 2_000);
        const acknowledged: Alert = {
          ...escalated,
          state: 'acknowledged',
          acknowledgedBy: 'user:test-clinician',
          acknowledgedMs: t0 + 3_000,
        };
        await writeStep(alerts, acknowledged, 'acknowledge', t0 + 3_000);
        await writeStep(alerts, shy, 'raise', t0);
        await writeStep(alerts, { ...shy, state: 'resolved', resolvedMs: t0 + 1_000 }, 'resolve', t0 + 1_000);
      }),
    );
    const expected = [
      'pager alert.acknowledged',
      'pager alert.raised',
      'ward alert.acknowledged',
      'ward alert.escalated',
      'ward alert.raised',
    ];
    assert.deepEqual(await untilSent(down.id, expected.length), expected);
    // Poll, retries, another pass: none of them may send anything more.
    await sleep(300);
    assert.deepEqual(sentAbout(down.id), expected);
    assert.equal(await queuedAbout(down.id), expected.length);
    const raisedBody = receiver.received.find(
      (r) => r.body.includes(down.id) && r.body.includes('"alert.raised"'),
    );
    const raised = JSON.parse(raisedBody!.body) as { timestamp: string; data: { state: string } };
    assert.equal(raised.timestamp, new Date(t0).toISOString(), 'the time of the step');
    assert.equal(raised.data.state, 'open', 'the state the step left the alert in');
    assert.deepEqual(sentAbout(shy.id), [], 'consent refuses disclosure of her alerts');
    assert.equal(await queuedAbout(shy.id), 0);
  });

  it('sends nothing again after a restart, and catches up on what came while it was down', async () => {
    await h.restart(whileDown((alerts) => writeStep(alerts, next, 'raise', next.openedMs)));
    // The catch-up reads in id order: by the time the later alert is out, the earlier ones were passed.
    assert.deepEqual(await untilSent(next.id, 2), ['pager alert.raised', 'ward alert.raised']);
    await sleep(300);
    assert.equal(sentAbout(down.id).length, 5);
    assert.equal(await queuedAbout(down.id), 5);
    assert.equal(sentAbout(next.id).length, 2);
    const cursor = await h.vigil.store.db
      .selectFrom('outbox_cursors')
      .select('last_id')
      .where('name', '=', 'webhook-alert-events')
      .executeTakeFirstOrThrow();
    const newest = await h.vigil.store.db
      .selectFrom('alert_events')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(cursor.last_id), Number(newest.id));
  });

  it('announces a step taken while running at once, from the engine kick, and only once', async () => {
    const alertId = next.id;
    const startedMs = Date.now();
    await h.vigil.alerts.acknowledge(alertId, 'user:test-clinician');
    await untilSent(alertId, 4);
    assert.ok(Date.now() - startedMs < 5_000, 'well before the minute poll');
    await sleep(300);
    assert.deepEqual(sentAbout(alertId), [
      'pager alert.acknowledged',
      'pager alert.raised',
      'ward alert.acknowledged',
      'ward alert.raised',
    ]);
    const acknowledged = receiver.received.find(
      (r) => r.body.includes(alertId) && r.body.includes('"alert.acknowledged"'),
    );
    assert.equal((JSON.parse(acknowledged!.body) as { data: { state: string } }).data.state, 'acknowledged');
  });
});
