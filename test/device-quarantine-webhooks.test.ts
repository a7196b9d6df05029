/**
 * Quarantine and release end to end: a real Vigil and webhook receiver. The HTTP routes answer
 * once the step is audited (and a quarantine recorded as a security event) and its webhooks
 * queued; a quarantine committed while notifications were not running (a crash right after the
 * commit) is audited, recorded and announced after the next start, once; a restart sends and
 * records nothing twice. The poll is set to a minute, so what arrives came from the route's own
 * pass or from the catch-up at start.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeviceStore } from '../src/devices/devices.store.ts';
import { openStore } from '../src/store/database.ts';
import { until } from './support/until.ts';
import type { Harness } from './support/vigil-harness.ts';
import { startWebhookHarness } from './support/webhook-harness.ts';
import { type Receiver, signatureValid } from './support/webhook-receiver.ts';

describe('device quarantine webhooks', () => {
  let h: Harness;
  let receiver: Receiver;
  let stop: () => Promise<void>;
  /** The desk's signing secret: it takes quarantines and releases; the pager quarantines only. */
  let deskSecret: string;

  before(async () => {
    const started = await startWebhookHarness();
    ({ h, receiver, stop } = started);
    await started.subscribe('pager', ['device.quarantined']);
    deskSecret = await started.subscribe('desk', ['device.quarantined', 'device.released']);
  });
  after(() => stop());

  /** What each subscriber was sent about a device: "pager device.quarantined", sorted. */
  const sentAbout = (deviceId: string) =>
    receiver.received
      .filter((r) => r.body.includes(`"deviceId":"${deviceId}"`))
      .map((r) => `${r.path.split('/').at(-1)} ${(JSON.parse(r.body) as { type: string }).type}`)
      .sort();
  const untilSent = (deviceId: string, count: number) =>
    until(`${count} deliveries about ${deviceId}`, () =>
      sentAbout(deviceId).length >= count ? sentAbout(deviceId) : undefined,
    );
  const auditedAbout = async (deviceId: string) =>
    (
      await h.vigil.store.db
        .selectFrom('audit_log')
        .select(['actor', 'action'])
        .where('resource', '=', `Device/${deviceId}`)
        .where('action', 'in', ['device.quarantine', 'device.release'])
        .orderBy('seq')
        .execute()
    ).map((r) => `${r.action} by ${r.actor}`);
  /** The quarantine security events the list API shows about a device: "severity detail". */
  const securityEventsAbout = async (deviceId: string) => {
    const r = await h.api(`/api/v1/security/events?device=${deviceId}&code=VIGIL_ERR_DEVICE_QUARANTINED`);
    assert.equal(r.status, 200, r.text);
    return (r.json as { events: Array<{ severity: string; detail: string }> }).events.map(
      (e) => `${e.severity} ${e.detail.replace(/ \(device event \d+\)$/, '')}`,
    );
  };

  it('quarantines over HTTP: audited when it answers, then announced once to each subscriber', async () => {
    await h.enrol('ox-route');
    const r = await h.api('/api/v1/devices/ox-route/quarantine', {
      method: 'POST',
      body: { reason: 'unexpected traffic' },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { id: 'ox-route', status: 'quarantined' });
    assert.deepEqual(await auditedAbout('ox-route'), ['device.quarantine by token:first-admin']);
    assert.deepEqual(await securityEventsAbout('ox-route'), [
      'high device ox-route quarantined by token:first-admin',
    ]);
    assert.ok(h.vigil.directory.isQuarantined('ox-route'), 'refused at once, from memory');
    assert.deepEqual(await untilSent('ox-route', 2), ['desk device.quarantined', 'pager device.quarantined']);
    const desk = receiver.received.find((x) => x.path.endsWith('/desk') && x.body.includes('ox-route'));
    assert.ok(signatureValid(deskSecret, desk!), 'signed');
    assert.equal(JSON.parse(desk!.body).data.link, 'https://vigil.example.org/fleet');
  });

  it('releases over HTTP and announces it to the subscribers of device.released', async () => {
    const r = await h.api('/api/v1/devices/ox-route/quarantine', { method: 'DELETE' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(await auditedAbout('ox-route'), [
      'device.quarantine by token:first-admin',
      'device.release by token:first-admin',
    ]);
    assert.equal(h.vigil.directory.isQuarantined('ox-route'), false);
    assert.deepEqual(await untilSent('ox-route', 3), [
      'desk device.quarantined',
      'desk device.released',
      'pager device.quarantined',
    ]);
    // A release of a device that is not quarantined releases nothing, and tells nobody.
    const again = await h.api('/api/v1/devices/ox-route/quarantine', { method: 'DELETE' });
    assert.equal(again.status, 200, again.text);
    assert.equal((await auditedAbout('ox-route')).length, 2);
  });

  it('audits and announces after a start a quarantine committed just before a crash, once', async () => {
    await h.enrol('ox-crash');
    await h.restart(async () => {
      // The step as a crash right after its commit leaves it: nothing audited, nothing queued.
      const store = await openStore({ dataDir: h.dataDir });
      try {
        await new DeviceStore(store.db).quarantine('ox-crash', 'tampering', 'user:security-officer');
      } finally {
        await store.close();
      }
    });
    assert.ok(h.vigil.directory.isQuarantined('ox-crash'), 'the directory reloads the status at start');
    assert.deepEqual(await untilSent('ox-crash', 2), ['desk device.quarantined', 'pager device.quarantined']);
    assert.deepEqual(await auditedAbout('ox-crash'), ['device.quarantine by user:security-officer']);
    const recorded = ['high device ox-crash quarantined by user:security-officer'];
    assert.deepEqual(await securityEventsAbout('ox-crash'), recorded, 'recorded from the outbox');

    await h.restart();
    // Retries, another start: none of them may send or audit anything more.
    await sleep(300);
    assert.deepEqual(sentAbout('ox-crash'), ['desk device.quarantined', 'pager device.quarantined']);
    assert.equal((await auditedAbout('ox-crash')).length, 1);
    assert.deepEqual(await securityEventsAbout('ox-crash'), recorded, 'and records nothing again');
    assert.ok(h.vigil.directory.isQuarantined('ox-crash'));
  });
});
