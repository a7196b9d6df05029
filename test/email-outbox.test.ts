/**
 * Durable alert e-mails on real SQLite and PostgreSQL and a real SMTP server: the relay
 * (src/notify/email-outbox.ts) queues notices from alert_events in the transaction that moves its
 * cursor, and the sender (src/notify/email-notifier.ts) claims, sends and records them, so a
 * crash or a stop loses no notice and two servers on one database send none twice.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { UserStore } from '../src/access/users.store.ts';
import type { AuditInput } from '../src/audit/audit-log.ts';
import type { Alert } from '../src/clinical/alerts/alert-lifecycle.ts';
import { AlertStore } from '../src/clinical/alerts/alerts.store.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { loadMasterKeyFile } from '../src/crypto/master-key.ts';
import { EmailDeliveryStore } from '../src/notify/email-deliveries.store.ts';
import {
  AlertEmailRelay,
  type AlertEmailRelayDeps,
  EMAIL_ALERT_EVENTS_CURSOR,
} from '../src/notify/email-outbox.ts';
import { memberAddress } from '../src/notify/email-recipients.ts';
import { OutboxCursors } from '../src/notify/outbox-cursors.store.ts';
import { openStore, type Store } from '../src/store/database.ts';
import { anAlert, writeStep } from './support/alert-steps.ts';
import { TEST_PG_URL } from './support/backends.ts';
import { keyOf, queueRaises, senderOn } from './support/email-queue.ts';
import { closedPort, mailEnv, readMail, type SmtpSink, startSmtp } from './support/smtp-server.ts';
import { until } from './support/until.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const T0 = Date.parse('2026-12-04T10:00:00Z');

/** Two stores (connections, pools) on one database, as two Vigil processes would open it. */
async function openTwice(kind: 'sqlite' | 'postgres'): Promise<[Store, Store, () => Promise<void>]> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-email-'));
    const a = await openStore({ dataDir: dir });
    const b = await openStore({ dataDir: dir });
    return [
      a,
      b,
      async () => {
        await Promise.all([a.close(), b.close()]);
        rmSync(dir, { recursive: true, force: true });
      },
    ];
  }
  const pgSchema = `vigil_email_${randomBytes(6).toString('hex')}`;
  const a = await openStore({ dataDir: '', databaseUrl: TEST_PG_URL, pgSchema });
  const b = await openStore({ dataDir: '', databaseUrl: TEST_PG_URL, pgSchema });
  return [
    a,
    b,
    async () => {
      await Promise.all([a.close(), b.close()]);
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${pgSchema}" CASCADE`);
      await client.end();
    },
  ];
}

function relayOn(store: Store, changes: Partial<AlertEmailRelayDeps> = {}): AlertEmailRelay {
  return new AlertEmailRelay({
    alerts: new AlertStore(store.db, keyOf),
    cursors: new OutboxCursors(store.db),
    queue: new EmailDeliveryStore(store.db),
    mayDisclose: async (patientId) => patientId !== 'p-refuses',
    log: pino({ level: 'silent' }),
    onQueued: () => {},
    pollMs: 60_000,
    ...changes,
  });
}

/** Starts the relay, lets its catch-up pass run to the end, and stops it. */
async function catchUp(relay: AlertEmailRelay): Promise<void> {
  relay.start();
  await relay.idle();
  await relay.stop();
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`durable alert e-mails on ${kind}`, () => {
    let a: Store;
    let b: Store;
    let cleanup: () => Promise<void>;
    let alerts: AlertStore;

    before(async () => {
      [a, b, cleanup] = await openTwice(kind);
      alerts = new AlertStore(a.db, keyOf);
    });
    after(() => cleanup());

    /** "kind member" for each notice queued about these alerts, in event order. */
    const queuedFor = async (...alertIds: string[]) =>
      (await new EmailDeliveryStore(a.db).list())
        .filter((d) => alertIds.includes(d.alertId))
        .map((d) => `${d.kind} ${d.member}`);
    const rowOf = async (alertId: string) => {
      const [row] = await new EmailDeliveryStore(a.db).list({ alertId });
      assert.ok(row, `a notice queued about ${alertId}`);
      return row;
    };
    const cursor = () => new OutboxCursors(a.db).position(EMAIL_ALERT_EVENTS_CURSOR);
    const newestEvent = async () =>
      Number(
        (
          await a.db
            .selectFrom('alert_events')
            .select((eb) => eb.fn.max('id').as('id'))
            .executeTakeFirstOrThrow()
        ).id,
      );
    /** An urgent alert raised to `holder`, its own device so that it opens its own episode. */
    const urgent = (patientId: string, holder: string | null, changes: Partial<Alert> = {}) =>
      anAlert(randomUUID(), patientId, T0, { deviceId: randomUUID(), assignedTo: holder, ...changes });

    it('queues, from steps no listener heard (a crash right after them), a raise for the holder and an escalation for the next', async () => {
      const x = urgent('p-ok', 'nurse-a');
      await writeStep(alerts, x, 'raise', T0);
      await catchUp(relayOn(a));
      assert.deepEqual(await queuedFor(x.id), ['raise nurse-a']);
      await writeStep(alerts, { ...x, escalationLevel: 1, assignedTo: 'dr-b' }, 'escalate', T0 + 600_000);
      await catchUp(relayOn(a));
      assert.deepEqual(await queuedFor(x.id), ['raise nurse-a', 'escalate dr-b']);
      assert.equal(await cursor(), await newestEvent());
    });

    it('mails only the holder of an alert passed on again before the relay caught up, and no raise of a warning', async () => {
      const x = urgent('p-ok', 'nurse-a');
      await writeStep(alerts, x, 'raise', T0);
      await writeStep(alerts, { ...x, escalationLevel: 1, assignedTo: 'dr-b' }, 'escalate', T0 + 600_000);
      const warning = urgent('p-ok', 'nurse-a', { urgency: 'warning', condition: 'glucose-high' });
      await writeStep(alerts, warning, 'raise', T0);
      await catchUp(relayOn(a));
      assert.deepEqual(await queuedFor(x.id, warning.id), ['escalate dr-b']);
    });

    it('queues nothing for a patient whose consent refuses disclosure of alerts', async () => {
      const refused = urgent('p-refuses', 'nurse-a');
      await writeStep(alerts, refused, 'raise', T0);
      await catchUp(relayOn(a));
      assert.deepEqual(await queuedFor(refused.id), []);
      assert.equal(await cursor(), await newestEvent(), 'passed, not waited on');
    });

    it('without SMTP follows the events and queues nothing, so SMTP configured later mails only what comes after', async () => {
      const before = urgent('p-ok', 'nurse-a');
      await writeStep(alerts, before, 'raise', T0);
      await catchUp(relayOn(a, { queue: undefined }));
      assert.equal(await cursor(), await newestEvent());
      const later = urgent('p-ok', 'nurse-a');
      await writeStep(alerts, later, 'raise', T0);
      await catchUp(relayOn(a));
      assert.deepEqual(await queuedFor(before.id, later.id), ['raise nurse-a']);
      assert.equal((await rowOf(later.id)).kind, 'raise');
    });

    it('queues each notice once when two relays run at the same time', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) {
        const x = urgent('p-ok', 'nurse-a');
        await writeStep(alerts, x, 'raise', T0);
        ids.push(x.id);
      }
      // Two SQLite connections in one process would sleep in SQLite's busy handler on the event
      // loop inside the relays' transactions; relays in two processes meet the lock. Here both share one.
      const one = relayOn(a, { batchEvents: 7 });
      const two = relayOn(kind === 'sqlite' ? a : b, { batchEvents: 7 });
      one.start();
      two.start();
      await Promise.all([one.idle(), two.idle()]);
      await Promise.all([one.stop(), two.stop()]);
      assert.equal((await queuedFor(...ids)).length, ids.length);
    });

    it('sends each notice once when two senders on one database work the queue at the same time', async () => {
      const smtp = await startSmtp({ startTls: false });
      const ids = await queueRaises(a, 40);
      const one = senderOn(a, smtp.port);
      const two = senderOn(b, smtp.port);
      one.start();
      two.start();
      try {
        await until('every notice sent', async () => {
          const rows = await Promise.all(ids.map(rowOf));
          return rows.every((r) => r.state === 'sent') ? true : undefined;
        });
      } finally {
        await Promise.all([one.stop(), two.stop()]);
        await smtp.close();
      }
      const mailed = ids.map((id) => smtp.mails.filter((m) => readMail(m.raw).text.includes(id)).length);
      assert.deepEqual(
        mailed,
        ids.map(() => 1),
      );
    });

    it('sends after a restart a notice whose relay was down when the server stopped, keeping its attempts', async () => {
      const port = await closedPort();
      const [alertId] = await queueRaises(a, 1);
      // The first retry waits about a minute: the server stops before it.
      const first = senderOn(a, port, { retryBaseMs: 60_000 });
      first.start();
      const failed = await until('a failed attempt recorded', async () => {
        const row = await rowOf(alertId!);
        return row.attempts === 1 ? row : undefined;
      });
      await first.stop();
      assert.equal(failed.state, 'pending');
      assert.ok(failed.nextAttemptMs > Date.now(), 'its next attempt is stored');
      assert.match(failed.lastError ?? '', /ECONNREFUSED|ESOCKET|ECONNECTION/);

      const smtp = await startSmtp({ startTls: false, port });
      const audited: AuditInput[] = [];
      // Started again once the stored time has come.
      const again = senderOn(b, port, { now: () => Date.now() + 120_000, audited });
      again.start();
      try {
        await until('the notice sent', async () =>
          (await rowOf(alertId!)).state === 'sent' ? true : undefined,
        );
      } finally {
        await again.stop();
        await smtp.close();
      }
      assert.equal((await rowOf(alertId!)).attempts, 2);
      assert.equal(smtp.mails.length, 1);
      assert.deepEqual(smtp.mails[0]?.to, ['nurse-a@hospital.example']);
      assert.deepEqual(
        audited.map((e) => [e.action, e.resource, e.outcome]),
        [['notify.email', `Alert/${alertId}`, 'success']],
      );
    });

    it('looks the address up when sending: a changed one is used, a user disabled meanwhile gets none', async () => {
      const users = new UserStore(a.db, new KeyRing(a.db, { id: 'mk-test', key: randomBytes(32) }));
      const suffix = randomBytes(4).toString('hex');
      const moved = (
        await users.create({ username: `nurse-${suffix}`, role: 'clinician', email: 'old@hospital.example' })
      ).user;
      const gone = (
        await users.create({ username: `dr-${suffix}`, role: 'clinician', email: 'dr@hospital.example' })
      ).user;
      const [toMoved] = await queueRaises(a, 1, moved.username);
      const [toGone] = await queueRaises(a, 1, gone.username);
      await users.setEmail(moved.id, 'new@hospital.example');
      await users.setDisabled(gone.id, true);
      const smtp = await startSmtp({ startTls: false });
      const sender = senderOn(a, smtp.port, { addressOf: memberAddress(users) });
      sender.start();
      try {
        await until('both notices settled', async () => {
          const states = [(await rowOf(toMoved!)).state, (await rowOf(toGone!)).state];
          return states.includes('pending') ? undefined : states;
        });
      } finally {
        await sender.stop();
        await smtp.close();
      }
      assert.deepEqual([(await rowOf(toMoved!)).state, (await rowOf(toGone!)).state], ['sent', 'no-address']);
      assert.deepEqual(
        smtp.mails.map((m) => m.to),
        [['new@hospital.example']],
      );
    });

    it('sends a notice whose sender died holding it once the claim runs out, and not before', async () => {
      const [alertId] = await queueRaises(a, 1);
      const queue = new EmailDeliveryStore(a.db);
      const nowMs = Date.now();
      const held = await queue.claimDue(nowMs, 100, 120_000, 'sender-that-died');
      assert.ok(held.some((d) => d.alertId === alertId));
      assert.deepEqual(
        (await queue.claimDue(nowMs + 1_000, 100, 120_000, 'another')).filter((d) => d.alertId === alertId),
        [],
        'held by the first sender while its claim lasts',
      );
      const smtp = await startSmtp({ startTls: false });
      const sender = senderOn(b, smtp.port, { now: () => Date.now() + 121_000 });
      sender.start();
      try {
        await until('the notice sent', async () =>
          (await rowOf(alertId!)).state === 'sent' ? true : undefined,
        );
      } finally {
        await sender.stop();
        await smtp.close();
      }
      assert.equal((await rowOf(alertId!)).attempts, 1);
    });

    it('puts a notice back in the queue, no attempt spent, when it stops in the middle of sending it', async () => {
      let isDataReached!: () => void;
      const dataReached = new Promise<void>((r) => {
        isDataReached = r;
      });
      // A relay that takes the message and never answers it.
      const server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onData(stream) {
          stream.resume();
          isDataReached();
        },
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const { port } = server.server.address() as AddressInfo;
      const [alertId] = await queueRaises(a, 1);
      const sender = senderOn(a, port, { stopGraceMs: 50 });
      sender.start();
      await dataReached;
      await sender.stop();
      server.close();
      const row = await rowOf(alertId!);
      assert.equal(row.state, 'pending');
      assert.equal(row.attempts, 0);
      assert.ok(row.nextAttemptMs <= Date.now(), 'due at once for the next start or another server');
    });
  });
}

describe('alert e-mails across a restart of a real Vigil', () => {
  let smtp: SmtpSink;
  let h: Harness;

  before(async () => {
    smtp = await startSmtp({ startTls: false });
    h = await startHarness({
      env: mailEnv(smtp),
      // A poll of a minute: what arrives came from the catch-up at start.
      start: { notify: { emailRetryBaseMs: 10, pollMs: 60_000 } },
    });
    const r = await h.api('/api/v1/users', {
      method: 'POST',
      body: { username: 'nurse-a', role: 'clinician', email: 'nurse.a@hospital.example' },
    });
    assert.equal(r.status, 201, r.text);
    await h.vigil.patients.add('p-down', { name: 'Test p-down' });
    await h.care('p-down');
  });
  after(async () => {
    await h.stop();
    await smtp.close();
  });

  it('mails, after the next start, an urgent alert raised just before a crash, and only once', async () => {
    const down = anAlert(randomUUID(), 'p-down', Date.now(), { assignedTo: 'nurse-a' });
    // Written into the stopped server's database, as a crash right after the alert step leaves it.
    await h.restart(async () => {
      const store = await openStore({ dataDir: h.dataDir });
      try {
        const keys = new KeyRing(store.db, loadMasterKeyFile(h.config.masterKeyFile));
        const alerts = new AlertStore(store.db, (patientId) => keys.dataKey('patient', patientId));
        await writeStep(alerts, down, 'raise', down.openedMs);
      } finally {
        await store.close();
      }
    });
    const link = `https://vigil.hospital.example/alerts?alert=${down.id}`;
    const mailsAbout = () => smtp.mails.filter((m) => readMail(m.raw).text.includes(link));
    const [mail] = await until('the e-mail', () => (mailsAbout().length > 0 ? mailsAbout() : undefined));
    assert.deepEqual(mail?.to, ['nurse.a@hospital.example']);
    await h.restart();
    const rows = await h.vigil.store.db
      .selectFrom('email_deliveries')
      .select(['state', 'attempts'])
      .where('alert_id', '=', down.id)
      .execute();
    assert.deepEqual(rows, [{ state: 'sent', attempts: 1 }]);
    assert.equal(mailsAbout().length, 1);
  });
});
