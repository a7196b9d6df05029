/**
 * A queued alert webhook is judged again before every attempt: a retry after the patient was
 * erased or withdrew consent, or a dead letter an administrator puts back, is withheld, not sent.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { Registry } from 'prom-client';
import { PatientAccess, type Requester } from '../src/access/patient-access.ts';
import { AlertStore } from '../src/clinical/alerts/alerts.store.ts';
import { PatientStore } from '../src/clinical/patients.store.ts';
import { WebhookStore } from '../src/notify/webhooks.store.ts';
import { WebhookDispatcher } from '../src/notify/webhooks-dispatcher.ts';
import { alertPayload } from '../src/notify/webhooks-events.ts';
import { newWebhookSecret } from '../src/notify/webhooks-signature.ts';
import { anAlert } from './support/alert-steps.ts';
import { tempStore } from './support/temp-store.ts';
import { type Receiver, startReceiver } from './support/webhook-receiver.ts';

const NOTIFY: Requester = { role: 'integration', name: 'notify', actor: 'system:notify' };

describe('alert webhooks after erasure or consent withdrawal', () => {
  let t: Awaited<ReturnType<typeof tempStore>>;
  let receiver: Receiver;
  let patients: PatientStore;
  let alerts: AlertStore;
  let hooks: WebhookStore;
  let access: PatientAccess;
  let dispatcher: WebhookDispatcher | undefined;

  beforeEach(async () => {
    t = await tempStore();
    receiver = await startReceiver();
    patients = new PatientStore(t.store.db, t.keys);
    alerts = new AlertStore(t.store.db, (p) => t.keys.dataKey('patient', p));
    hooks = new WebhookStore(t.store.db, t.keys);
    access = new PatientAccess(t.store.db);
  });
  afterEach(async () => {
    await dispatcher?.stop();
    dispatcher = undefined;
    await receiver.close();
    await t.cleanup();
  });

  /** A delivery of an alert.raised for a new patient's alert, as the outbox relay queues it. */
  async function queuedAlert(patientId: string): Promise<string> {
    const now = Date.now();
    await patients.add(patientId, { name: 'Vic Tim' }, now - 60_000);
    const alert = anAlert(`al-${patientId}`, patientId, now - 30_000, { value: 48, onsetMs: now - 40_000 });
    await alerts.insert(alert);
    const w = await hooks.create({
      url: receiver.url,
      events: ['alert.raised', 'device.quarantined'],
      description: '',
      createdBy: 'user:admin',
      secret: newWebhookSecret(),
      nowMs: now,
    });
    return hooks.enqueue(
      w.id,
      'alert.raised',
      alertPayload(alert, 'alert.raised', 'https://vigil.test', now),
      now,
    );
  }

  function startDispatcher(maxAttempts = 8): void {
    dispatcher = new WebhookDispatcher({
      store: hooks,
      registry: new Registry(),
      log: pino({ level: 'silent' }),
      allowLoopbackHttp: true,
      retryBaseMs: 1000,
      pollMs: 20,
      maxAttempts,
      disclosure: {
        alerts,
        mayDisclose: async (patientId) =>
          (await access.readable(NOTIFY, [patientId], 'alerts')).has(patientId),
      },
    });
    dispatcher.start();
  }

  async function stateOf(id: string): Promise<string | undefined> {
    return (await hooks.deliveries({ limit: 100 })).find((d) => d.id === id)?.state;
  }

  async function until(check: () => Promise<boolean>): Promise<void> {
    const end = Date.now() + 10_000;
    while (!(await check())) {
      if (Date.now() > end) throw new Error('not so after 10 s');
      await sleep(20);
    }
  }

  it('withholds the retry of a delivery whose patient was erased after the first attempt', async () => {
    const id = await queuedAlert('p-victim');
    receiver.state.answer = () => 503;
    startDispatcher();
    // The first attempt recorded: the next waits at least half a second, none is in flight.
    await until(async () => (await hooks.deliveries({ limit: 100 })).some((d) => d.attempts === 1));
    await patients.erase('p-victim');
    receiver.state.answer = () => 200;
    await until(async () => (await stateOf(id)) !== 'pending');
    await sleep(200);
    assert.equal(await stateOf(id), 'withheld');
    assert.ok(
      receiver.received.every((r) => r.body.includes('"p-victim"')),
      'the receiver had only the attempts made before the erasure',
    );
    const row = await t.store.db
      .selectFrom('webhook_deliveries')
      .select('payload')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    assert.doesNotMatch(row.payload, /p-victim|urgent/, 'a withheld row keeps no clinical fact');
    const afterErasure = receiver.received.length;
    await sleep(300);
    assert.equal(receiver.received.length, afterErasure, 'nothing more was sent');
  });

  it('withholds a dead-lettered delivery of an erased patient that an administrator re-queues', async () => {
    const id = await queuedAlert('p-dead');
    receiver.state.answer = () => 503;
    startDispatcher(1);
    await until(async () => (await stateOf(id)) === 'dead');
    const sent = receiver.received.length;
    await patients.erase('p-dead');
    receiver.state.answer = () => 200;
    await hooks.retry(id, Date.now());
    dispatcher?.kick();
    await until(async () => (await stateOf(id)) !== 'pending');
    assert.equal(await stateOf(id), 'withheld');
    assert.equal(receiver.received.length, sent, 'the re-queued delivery did not go out');
  });

  it('withholds the retry once consent refuses disclosure of alerts', async () => {
    const id = await queuedAlert('p-withdrawn');
    receiver.state.answer = () => 503;
    startDispatcher();
    // The first attempt recorded: the next waits at least half a second, none is in flight.
    await until(async () => (await hooks.deliveries({ limit: 100 })).some((d) => d.attempts === 1));
    await access.recordConsent(
      'p-withdrawn',
      {
        decision: 'deny',
        purposes: ['*'],
        categories: ['alerts'],
        periodStart: Date.now() - 1000,
        periodEnd: null,
      },
      'user:admin',
    );
    receiver.state.answer = () => 200;
    await until(async () => (await stateOf(id)) !== 'pending');
    assert.equal(await stateOf(id), 'withheld');
  });

  it('still sends a device event, which names no patient', async () => {
    await queuedAlert('p-other');
    await patients.erase('p-other');
    const [w] = await hooks.list();
    const id = await hooks.enqueue(w!.id, 'device.quarantined', '{"type":"device.quarantined"}', Date.now());
    startDispatcher();
    await until(async () => (await stateOf(id)) !== 'pending');
    assert.equal(await stateOf(id), 'delivered');
  });
});
