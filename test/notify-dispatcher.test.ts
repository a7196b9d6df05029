import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { Registry } from 'prom-client';
import { WebhookStore } from '../src/notify/webhooks.store.ts';
import { WebhookDispatcher } from '../src/notify/webhooks-dispatcher.ts';
import { newWebhookSecret } from '../src/notify/webhooks-signature.ts';
import { tempStore } from './support/temp-store.ts';

/**
 * The webhook dispatcher on a real SQLite queue, with rows it cannot send: whatever is wrong
 * with one delivery, the worker backs off and ends it, rather than spinning on it.
 */
describe('webhook dispatcher and a delivery it cannot prepare', () => {
  let t: Awaited<ReturnType<typeof tempStore>>;
  let hooks: WebhookStore;
  before(async () => {
    t = await tempStore();
    hooks = new WebhookStore(t.store.db, t.keys);
  });
  after(() => t.cleanup());

  it('backs off a delivery whose signing secret cannot be read instead of retrying it at once', async () => {
    const w = await hooks.create({
      url: 'https://hooks.example.org/in',
      events: ['device.quarantined'],
      description: '',
      createdBy: 'user:admin',
      secret: newWebhookSecret(),
      nowMs: Date.now(),
    });
    // A secret that cannot be opened (lost, or sealed under a master key no longer loaded).
    await t.store.db.deleteFrom('sealed_secrets').where('name', '=', `webhook|${w.id}`).execute();
    const id = await hooks.enqueue(w.id, 'device.quarantined', '{}', Date.now());
    let errors = 0;
    const log = pino({ level: 'error' }, { write: () => errors++ });
    const dispatcher = new WebhookDispatcher({
      store: hooks,
      registry: new Registry(),
      log,
      allowLoopbackHttp: false,
      pollMs: 60_000,
      retryBaseMs: 60_000,
      maxAttempts: 3,
    });
    dispatcher.start();
    await sleep(300);
    await dispatcher.stop();
    assert.ok(errors <= 1, `the bad delivery was tried ${errors} times in 300 ms`);
    const [d] = (await hooks.deliveries({ limit: 10 })).filter((x) => x.id === id);
    assert.equal(d?.state, 'pending');
    assert.equal(d?.attempts, 1);
    assert.ok((d?.nextAttemptMs ?? 0) > Date.now() + 10_000, 'the retry waits its backoff');
    assert.match(d?.lastError ?? '', /missing/);
  });
});
