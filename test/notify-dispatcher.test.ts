import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { Registry } from 'prom-client';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { type Delivery, WebhookStore } from '../src/notify/webhooks.store.ts';
import { WebhookDispatcher } from '../src/notify/webhooks-dispatcher.ts';
import { newWebhookSecret } from '../src/notify/webhooks-signature.ts';
import type { Store } from '../src/store/database.ts';
import { BACKENDS } from './support/backends.ts';
import { tempStore } from './support/temp-store.ts';

/**
 * The webhook dispatcher on a real SQLite queue, with rows it cannot send: whatever is wrong
 * with one delivery, the worker backs off and ends it, rather than spinning on it.
 */
/** These deliveries are device events, which pass no disclosure check; an alert's would be withheld. */
const NO_ALERTS = { alerts: { withoutValues: async () => new Map() }, mayDisclose: async () => false };

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
      disclosure: NO_ALERTS,
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

/** A real store whose record of an attempt's outcome fails (disk full, a constraint) while `isFailing`. */
class OutcomesNotRecorded extends WebhookStore {
  isFailing = true;
  recordCalls = 0;
  override async recordAttempt(...args: Parameters<WebhookStore['recordAttempt']>): Promise<void> {
    this.recordCalls++;
    if (this.isFailing) throw new Error('SQLITE_FULL: database or disk is full');
    return super.recordAttempt(...args);
  }
}

/** A real store that cannot even read its queue (database gone, locked) while `isFailing`. */
class QueueUnreadable extends WebhookStore {
  isFailing = true;
  dueCalls = 0;
  override async due(...args: Parameters<WebhookStore['due']>): Promise<Delivery[]> {
    this.dueCalls++;
    if (this.isFailing) throw new Error('connection terminated unexpectedly');
    return super.due(...args);
  }
}

/** An HTTP receiver on loopback that counts what it is sent and answers `status`. */
async function startReceiver(status: number) {
  const received: string[] = [];
  const server = http.createServer((req, res) => {
    received.push(String(req.headers['webhook-id']));
    req.resume();
    req.on('end', () => {
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** How late a timer set now for `ms` fires: the event loop's responsiveness meanwhile. */
function timerLateness(ms: number): Promise<number> {
  const due = performance.now() + ms;
  return new Promise((resolve) => setTimeout(() => resolve(performance.now() - due), ms));
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not so after ${timeoutMs} ms`);
    await sleep(20);
  }
}

for (const backend of BACKENDS) {
  describe(`webhook dispatcher when its store fails, on ${backend.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let keys: KeyRing;
    before(async () => {
      ({ store, cleanup } = await backend.open());
      keys = new KeyRing(store.db, { id: 'mk-test', key: randomBytes(32) });
    });
    after(() => cleanup());

    const subscribe = (hooks: WebhookStore, url: string) =>
      hooks.create({
        url,
        events: ['device.quarantined'],
        description: '',
        createdBy: 'user:admin',
        secret: newWebhookSecret(),
        nowMs: Date.now(),
      });
    const dispatcherOf = (hooks: WebhookStore, log: pino.Logger, pollMs = 60_000) =>
      new WebhookDispatcher({
        store: hooks,
        registry: new Registry(),
        log,
        allowLoopbackHttp: true,
        disclosure: NO_ALERTS,
        pollMs,
        retryBaseMs: 60_000,
        storeRetryBaseMs: 100,
      });

    it('sends a delivery once while its outcome cannot be recorded, and records it when the store recovers', async () => {
      const receiver = await startReceiver(204);
      const hooks = new OutcomesNotRecorded(store.db, keys);
      const w = await subscribe(hooks, receiver.url);
      const id = await hooks.enqueue(w.id, 'device.quarantined', '{}', Date.now());
      const logged: string[] = [];
      const log = pino({ level: 'warn' }, { write: (line: string) => logged.push(line) });
      const dispatcher = dispatcherOf(hooks, log);
      dispatcher.start();
      try {
        const late = timerLateness(50);
        await sleep(600);
        assert.deepEqual(
          receiver.received,
          [id],
          'the receiver is sent the delivery once, not again and again',
        );
        assert.ok((await late) < 100, `a 50 ms timer fired ${Math.round(await late)} ms late`);
        assert.ok(hooks.recordCalls <= 6, `the outcome was tried ${hooks.recordCalls} times in 600 ms`);
        assert.equal(logged.length, 1, `one log line for the episode, not one per try: ${logged.join('')}`);
        hooks.isFailing = false;
        await until(
          async () =>
            (await hooks.deliveries({ limit: 10 })).some((d) => d.id === id && d.state === 'delivered'),
          5_000,
        );
        const [d] = (await hooks.deliveries({ limit: 10 })).filter((x) => x.id === id);
        assert.equal(d?.attempts, 1);
        assert.equal(d?.lastStatus, 204);
        await sleep(200);
        assert.deepEqual(receiver.received, [id], 'recorded, not sent again');
      } finally {
        await dispatcher.stop();
        await receiver.close();
      }
    });

    it('keeps its retry backoff for a failed attempt whose outcome could not be recorded', async () => {
      const receiver = await startReceiver(503);
      const hooks = new OutcomesNotRecorded(store.db, keys);
      const w = await subscribe(hooks, receiver.url);
      const id = await hooks.enqueue(w.id, 'device.quarantined', '{}', Date.now());
      const dispatcher = dispatcherOf(hooks, pino({ level: 'silent' }));
      dispatcher.start();
      try {
        await sleep(300);
        hooks.isFailing = false;
        await until(
          async () => (await hooks.deliveries({ limit: 10 })).some((d) => d.id === id && d.attempts === 1),
          5_000,
        );
        await sleep(200);
        const [d] = (await hooks.deliveries({ limit: 10 })).filter((x) => x.id === id);
        assert.equal(d?.state, 'pending');
        assert.ok(
          (d?.nextAttemptMs ?? 0) > Date.now() + 10_000,
          'the retry waits the backoff the attempt chose',
        );
        assert.deepEqual(receiver.received, [id]);
      } finally {
        await dispatcher.stop();
        await receiver.close();
      }
    });

    it('sends the other due deliveries while one outcome waits to be recorded', async () => {
      const receiver = await startReceiver(204);
      const hooks = new OutcomesNotRecorded(store.db, keys);
      const w = await subscribe(hooks, receiver.url);
      const first = await hooks.enqueue(w.id, 'device.quarantined', '{"n":1}', Date.now());
      const dispatcher = dispatcherOf(hooks, pino({ level: 'silent' }));
      dispatcher.start();
      try {
        await until(async () => receiver.received.length === 1, 5_000);
        const second = await hooks.enqueue(w.id, 'device.quarantined', '{"n":2}', Date.now());
        dispatcher.kick();
        await until(async () => receiver.received.length === 2, 5_000);
        await sleep(300);
        assert.deepEqual(receiver.received, [first, second]);
      } finally {
        await dispatcher.stop();
        await receiver.close();
      }
    });

    it('backs off, and logs once, while it cannot read its queue', async () => {
      const hooks = new QueueUnreadable(store.db, keys);
      const logged: string[] = [];
      const log = pino({ level: 'info' }, { write: (line: string) => logged.push(line) });
      const dispatcher = dispatcherOf(hooks, log, 10);
      dispatcher.start();
      try {
        await sleep(500);
        assert.ok(
          hooks.dueCalls <= 6,
          `the queue was read ${hooks.dueCalls} times in 500 ms, polling every 10`,
        );
        assert.equal(logged.length, 1, logged.join(''));
        hooks.isFailing = false;
        await until(async () => logged.length === 2, 5_000);
        assert.match(logged[1] ?? '', /recovered/);
      } finally {
        await dispatcher.stop();
      }
    });
  });
}
