import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { UserStore } from '../src/access/users.store.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { isVigilError } from '../src/errors/catalogue.ts';
import { WebhookStore } from '../src/notify/webhooks.store.ts';
import { newWebhookSecret } from '../src/notify/webhooks-signature.ts';
import type { Store } from '../src/store/database.ts';
import { BACKENDS } from './support/backends.ts';

/** The notification tables (migration 0008) behave the same on SQLite and PostgreSQL. */
for (const backend of BACKENDS) {
  describe(`notification store on ${backend.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let hooks: WebhookStore;
    let users: UserStore;
    before(async () => {
      ({ store, cleanup } = await backend.open());
      const keys = new KeyRing(store.db, { id: 'mk-test', key: randomBytes(32) });
      hooks = new WebhookStore(store.db, keys);
      users = new UserStore(store.db, keys);
    });
    after(() => cleanup());

    const subscribe = (events: string[], secret = newWebhookSecret()) =>
      hooks.create({
        url: 'https://hooks.example.org/in',
        events,
        description: 'pager',
        createdBy: 'user:admin',
        secret,
        nowMs: 1_000,
      });

    it('keeps the signing secret sealed, never in clear', async () => {
      const secret = newWebhookSecret();
      const w = await subscribe(['alert.raised'], secret);
      assert.equal(await hooks.secret(w.id), secret);
      const row = await store.db
        .selectFrom('sealed_secrets')
        .selectAll()
        .where('name', '=', `webhook|${w.id}`)
        .executeTakeFirstOrThrow();
      assert.ok(!Buffer.from(row.sealed).toString('latin1').includes(secret.slice(6, 30)));
      assert.deepEqual((await hooks.get(w.id)).events, ['alert.raised']);
    });

    it('queues deliveries, hands out due ones in order, and records attempts', async () => {
      const w = await subscribe(['alert.escalated']);
      assert.deepEqual(
        (await hooks.subscribersOf('alert.escalated')).map((s) => s.id),
        [w.id],
      );
      const first = await hooks.enqueue(w.id, 'alert.escalated', '{"n":1}', 5_000);
      const second = await hooks.enqueue(w.id, 'alert.escalated', '{"n":2}', 6_000);
      assert.deepEqual(
        (await hooks.due(5_500, 10)).map((d) => d.id),
        [first],
      );
      await hooks.recordAttempt(
        first,
        { state: 'pending', attempts: 1, nextAttemptMs: 9_000, status: 503, error: 'answered 503' },
        5_600,
      );
      assert.deepEqual(
        (await hooks.due(7_000, 10)).map((d) => d.id),
        [second],
      );
      await hooks.recordAttempt(
        second,
        { state: 'delivered', attempts: 1, nextAttemptMs: 7_000, status: 204, error: null },
        7_000,
      );
      const due = await hooks.due(10_000, 10);
      assert.deepEqual(
        due.map((d) => [d.id, d.attempts, d.lastStatus]),
        [[first, 1, 503]],
      );
    });

    it('retries only dead-lettered deliveries, with fresh attempts', async () => {
      const w = await subscribe(['alert.resolved']);
      const id = await hooks.enqueue(w.id, 'alert.resolved', '{}', 1_000);
      await assert.rejects(
        hooks.retry(id, 2_000),
        (e) => isVigilError(e) && e.code === 'VIGIL_ERR_WEBHOOK_DELIVERY_STATE',
      );
      await hooks.recordAttempt(
        id,
        { state: 'dead', attempts: 8, nextAttemptMs: 1_500, status: 500, error: 'answered 500' },
        1_500,
      );
      assert.ok((await hooks.deliveries({ state: 'dead', limit: 10 })).some((d) => d.id === id));
      const again = await hooks.retry(id, 2_000);
      assert.deepEqual([again.state, again.attempts, again.nextAttemptMs], ['pending', 0, 2_000]);
      await assert.rejects(
        hooks.retry('msg_nope', 2_000),
        (e) => isVigilError(e) && e.code === 'VIGIL_ERR_WEBHOOK_DELIVERY_UNKNOWN',
      );
    });

    it('deletes a subscription with its secret and queue', async () => {
      const w = await subscribe(['device.quarantined']);
      await hooks.enqueue(w.id, 'device.quarantined', '{}', 1_000);
      assert.equal(await hooks.delete(w.id), true);
      assert.equal(await hooks.delete(w.id), false);
      assert.equal((await hooks.deliveries({ limit: 500 })).filter((d) => d.webhookId === w.id).length, 0);
      await assert.rejects(hooks.secret(w.id));
    });

    it('stores an optional e-mail address per user', async () => {
      const { user } = await users.create({
        username: 'nurse-mail',
        role: 'clinician',
        email: 'Nurse@Ward.Example',
      });
      assert.equal(user.email, 'Nurse@ward.example');
      await users.setEmail(user.id, null);
      assert.equal((await users.findById(user.id))?.email, null);
      await assert.rejects(
        users.setEmail(user.id, 'no address'),
        (e) => isVigilError(e) && e.code === 'VIGIL_ERR_REQUEST_INVALID',
      );
    });
  });
}
