import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { until } from './support/until.ts';
import { type Harness, publishQos1, startHarness } from './support/vigil-harness.ts';
import { type Received, type Receiver, signatureValid, startReceiver } from './support/webhook-receiver.ts';

/**
 * Outbound webhooks end to end (issue 3, item 7): a real Vigil, a real HTTP receiver on
 * loopback that checks every signature with its own implementation of the Standard Webhooks
 * scheme, fails on command, and sees the retries, the dead-letter list and a restart.
 */

interface ApiDelivery {
  id: string;
  state: string;
  attempts: number;
  lastStatus: number | null;
}

describe('outbound webhooks', () => {
  let h: Harness;
  let receiver: Receiver;
  let secret: string;
  let webhookId: string;

  before(async () => {
    receiver = await startReceiver();
    h = await startHarness({
      env: { VIGIL_WEBHOOKS_ALLOW_LOOPBACK_HTTP: 'true', VIGIL_PUBLIC_URL: 'https://vigil.example.org' },
      start: { notify: { retryBaseMs: 10, pollMs: 10 } },
    });
  });
  after(async () => {
    await h.stop();
    await receiver.close();
  });

  const deliveries = async (query = '') => {
    const r = await h.api(`/api/v1/webhooks/deliveries${query}`);
    assert.equal(r.status, 200, r.text);
    return (r.json as { deliveries: ApiDelivery[] }).deliveries;
  };
  const quarantine = async (deviceId: string) => {
    await h.enrol(deviceId);
    const r = await h.api(`/api/v1/devices/${deviceId}/quarantine`, {
      method: 'POST',
      body: { reason: 'test' },
    });
    assert.equal(r.status, 200, r.text);
  };
  const fromDevice = (deviceId: string) => (r: Received) => r.body.includes(`"deviceId":"${deviceId}"`);

  it('subscribes a URL and shows the signing secret once', async () => {
    const r = await h.api('/api/v1/webhooks', {
      method: 'POST',
      body: {
        url: receiver.url,
        events: ['alert.raised', 'device.quarantined'],
        description: 'pager bridge',
      },
    });
    assert.equal(r.status, 201, r.text);
    const body = r.json as { webhook: { id: string; url: string }; secret: string };
    assert.match(body.secret, /^whsec_/);
    ({ secret } = body);
    webhookId = body.webhook.id;
    const list = await h.api('/api/v1/webhooks');
    assert.equal(list.status, 200);
    assert.ok(!list.text.includes(secret), 'the list never shows the secret');
    assert.deepEqual(
      (list.json as { webhooks: Array<{ id: string }> }).webhooks.map((w) => w.id),
      [webhookId],
    );
  });

  it('refuses plain http to a public host and URLs with credentials', async () => {
    for (const url of ['http://hooks.example.org/in', 'https://user:pw@hooks.example.org/in']) {
      const r = await h.api('/api/v1/webhooks', { method: 'POST', body: { url, events: ['alert.raised'] } });
      assert.equal(r.status, 422, r.text);
      assert.equal((r.json as { code: string }).code, 'VIGIL_ERR_WEBHOOK_URL');
    }
  });

  it('retries a receiver that fails twice, with the same id, every attempt signed', async () => {
    let failures = 2;
    receiver.state.answer = () => (failures-- > 0 ? 503 : 204);
    await quarantine('ox-retry');
    const mine = await until('three attempts', () => {
      const seen = receiver.received.filter(fromDevice('ox-retry'));
      return seen.length >= 3 ? seen : undefined;
    });
    assert.equal(new Set(mine.map((m) => m.id)).size, 1, 'one webhook-id across retries');
    for (const m of mine) assert.ok(signatureValid(secret, m), 'signature checks out');
    const payload = JSON.parse(mine[0]!.body) as { type: string; data: Record<string, unknown> };
    assert.equal(payload.type, 'device.quarantined');
    const delivery = await until('delivered', async () =>
      (await deliveries()).find((d) => d.id === mine[0]!.id && d.state === 'delivered'),
    );
    assert.deepEqual([delivery.attempts, delivery.lastStatus], [3, 204]);
    const metrics = await h.api('/metrics');
    assert.match(metrics.text, /vigil_webhook_deliveries_total\{outcome="retry"\} [1-9]/);
    assert.match(metrics.text, /vigil_webhook_deliveries_total\{outcome="delivered"\} [1-9]/);
  });

  it('dead-letters a delivery that always fails, and delivers it on a manual retry', async () => {
    receiver.state.answer = (r) => (fromDevice('ox-dead')(r) ? 500 : 204);
    await quarantine('ox-dead');
    const dead = await until('dead letter', async () => (await deliveries('?state=dead'))[0]);
    assert.equal(dead.attempts, 8);
    assert.equal(receiver.received.filter((r) => r.id === dead.id).length, 8);
    receiver.state.answer = () => 204;
    const retry = await h.api(`/api/v1/webhooks/deliveries/${dead.id}/retry`, { method: 'POST' });
    assert.equal(retry.status, 200, retry.text);
    await until('redelivered', async () =>
      (await deliveries('?state=delivered')).find((d) => d.id === dead.id),
    );
    const again = await h.api(`/api/v1/webhooks/deliveries/${dead.id}/retry`, { method: 'POST' });
    assert.equal(again.status, 409);
  });

  it('still delivers after a restart in the middle of retries', async () => {
    receiver.state.answer = () => 503;
    await quarantine('ox-restart');
    await until('a failed attempt', () => receiver.received.find(fromDevice('ox-restart')));
    await h.restart();
    const before = receiver.received.length;
    receiver.state.answer = () => 204;
    const id = receiver.received.find(fromDevice('ox-restart'))!.id;
    await until('delivered after restart', async () =>
      (await deliveries('?state=delivered')).find((d) => d.id === id),
    );
    assert.ok(
      receiver.received.slice(before).some((r) => r.id === id),
      'the restarted server sent it',
    );
  });

  it('sends alert events with ids, condition, times and a link, and no value or name', async () => {
    receiver.state.answer = () => 204;
    const creds = await h.enrol('cgm-hook', 'p-hook');
    const client = await h.connect(creds, 'cgm-hook');
    const start = Date.now() - 50 * 60_000;
    for (let i = 0; i < 11; i++) {
      const readings = [
        {
          code: '2339-0',
          value: Math.max(50, 130 - 10 * i),
          unit: 'mg/dL',
          ts: new Date(start + i * 300_000).toISOString(),
        },
      ];
      const payload = JSON.stringify({ seq: i + 1, ts: new Date().toISOString(), readings });
      assert.equal(await publishQos1(client, 'v1/devices/cgm-hook/telemetry', payload), 0);
    }
    await h.vigil.alerts.idle();
    const raised = await until('an alert.raised event', () =>
      receiver.received.find((r) => r.body.includes('"alert.raised"') && r.body.includes('p-hook')),
    );
    assert.ok(signatureValid(secret, raised));
    const event = JSON.parse(raised.body) as { data: Record<string, unknown> };
    assert.deepEqual(Object.keys(event.data).sort(), [
      'acknowledgedAt',
      'alertId',
      'condition',
      'escalationLevel',
      'link',
      'onsetAt',
      'openedAt',
      'patientId',
      'resolvedAt',
      'state',
      'updatedAt',
      'urgency',
    ]);
    assert.equal(event.data.link, `https://vigil.example.org/alerts?alert=${event.data.alertId}`);
    assert.ok(!raised.body.includes('Test p-hook'), 'no patient name');
    assert.ok(!raised.body.includes('mg/dL'), 'no unit, no value');
    const audited = await until('the disclosure audited', async () => {
      const rows = await h.vigil.store.db
        .selectFrom('audit_log')
        .selectAll()
        .where('action', '=', 'notify.webhook')
        .where('resource', '=', `Alert/${String(event.data.alertId)}`)
        .execute();
      return rows[0];
    });
    assert.deepEqual([audited.actor, audited.patient_id], ['system:notify', 'p-hook']);
  });

  it('announces no alert of a patient whose consent refuses disclosure of alerts', async () => {
    receiver.state.answer = () => 204;
    const lowGlucose = async (deviceId: string, patientId: string) => {
      const client = await h.connect(await h.enrol(deviceId, patientId), deviceId);
      return async () => {
        const readings = [{ code: '2339-0', value: 40, unit: 'mg/dL' }];
        const payload = JSON.stringify({ seq: 1, ts: new Date().toISOString(), readings });
        assert.equal(await publishQos1(client, `v1/devices/${deviceId}/telemetry`, payload), 0);
        await h.vigil.alerts.idle();
      };
    };
    const privateLow = await lowGlucose('cgm-private', 'p-private');
    const openLow = await lowGlucose('cgm-open', 'p-open');
    const deny = await h.api('/api/v1/patients/p-private/consents', {
      method: 'POST',
      body: { decision: 'deny', purposes: ['*'], categories: ['alerts'] },
    });
    assert.equal(deny.status, 201, deny.text);
    await privateLow();
    await openLow();
    // Events go out in the order they were raised: the second patient's arriving means the
    // first one's was judged before it.
    await until("the consenting patient's alert", () =>
      receiver.received.find((r) => r.body.includes('"alert.raised"') && r.body.includes('p-open')),
    );
    assert.deepEqual(
      receiver.received.filter((r) => r.body.includes('p-private')),
      [],
    );
    const queued = await h.vigil.store.db
      .selectFrom('webhook_deliveries')
      .select('payload')
      .where('payload', 'like', '%p-private%')
      .execute();
    assert.deepEqual(queued, [], 'not even queued');
  });

  it('removes a subscription; nothing more is sent to it', async () => {
    const r = await h.api(`/api/v1/webhooks/${webhookId}`, { method: 'DELETE' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await h.api(`/api/v1/webhooks/${webhookId}`, { method: 'DELETE' })).status, 404);
    assert.deepEqual((await h.api('/api/v1/webhooks')).json, { webhooks: [] });
  });
});
