import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { SMTPServer } from 'smtp-server';
import type { AuditInput } from '../src/audit/audit-log.ts';
import { EmailDeliveryStore } from '../src/notify/email-deliveries.store.ts';
import { composeAlertEmail } from '../src/notify/email-notifier.ts';
import { parseSmtpUrl } from '../src/notify/email-smtp-url.ts';
import type { Store } from '../src/store/database.ts';
import { queueRaises, senderOn } from './support/email-queue.ts';
import { mailEnv, readMail, startSmtp } from './support/smtp-server.ts';
import { tempStore } from './support/temp-store.ts';
import { until } from './support/until.ts';
import { type Harness, publishQos1, startHarness } from './support/vigil-harness.ts';

/**
 * Alert e-mails end to end (issue 3, item 7): a real SMTP server (smtp-server on port 0)
 * receives what Vigil sends for a real alert trace published over MQTT, and the test reads
 * the messages as a mail client would.
 */

describe('alert e-mails', () => {
  const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let h: Harness;

  before(async () => {
    smtp = await startSmtp({ startTls: false });
    h = await startHarness({
      env: mailEnv(smtp),
      start: { alertClock: clock, notify: { emailRetryBaseMs: 10 } },
    });
  });
  after(async () => {
    await h.stop();
    await smtp.close();
  });

  it('mails the holder of an urgent alert, then the next one when it escalates, with a link and no patient data', async () => {
    for (const [username, email] of [
      ['nurse-a', 'nurse.a@hospital.example'],
      ['dr-b', 'dr.b@hospital.example'],
    ]) {
      const r = await h.api('/api/v1/users', {
        method: 'POST',
        body: { username, role: 'clinician', email },
      });
      assert.equal(r.status, 201, r.text);
      assert.equal((r.json as { user: { email: string } }).user.email, email);
    }
    const team = await h.api('/api/v1/care-teams', {
      method: 'POST',
      body: { id: 'ward-mail', name: 'Ward M', members: ['nurse-a', 'dr-b', 'test-clinician'] },
    });
    assert.equal(team.status, 201, team.text);
    const creds = await h.enrol('cgm-mail', 'p-mail');
    assert.equal(
      (await h.api('/api/v1/care-teams/ward-mail/patients/p-mail', { method: 'PUT' })).status,
      200,
    );
    assert.equal(
      (await h.api('/api/v1/care-teams/harness-ward/patients/p-mail', { method: 'DELETE' })).status,
      200,
    );

    const client = await h.connect(creds, 'cgm-mail');
    const start = Date.now() - 50 * 60_000;
    for (let i = 0; i < 11; i++) {
      const value = Math.max(50, 130 - 10 * i);
      const readings = [
        { code: '2339-0', value, unit: 'mg/dL', ts: new Date(start + i * 300_000).toISOString() },
      ];
      const payload = JSON.stringify({ seq: i + 1, ts: new Date().toISOString(), readings });
      assert.equal(await publishQos1(client, 'v1/devices/cgm-mail/telemetry', payload), 0);
    }
    await h.vigil.alerts.idle();
    const list = await h.api('/api/v1/alerts?patient=p-mail', { token: h.clinicianToken });
    const urgent = (
      list.json as { alerts: Array<{ id: string; condition: string; value: number }> }
    ).alerts.find((a) => a.condition === 'glucose-urgent-low');
    assert.ok(urgent, list.text);
    const link = `https://vigil.hospital.example/alerts?alert=${urgent.id}`;

    // The predicted low (urgent too) may have been mailed first: pick this alert's message.
    const mailOf = (to: string) => () =>
      smtp.mails.find((m) => m.to.includes(to) && readMail(m.raw).text.includes(link));
    const first = await until('the first e-mail', mailOf('nurse.a@hospital.example'));
    assert.equal(first.from, 'vigil@hospital.example');
    const raised = readMail(first.raw);
    assert.equal(raised.subject, 'Vigil: an urgent alert needs you');
    assert.equal(raised.text.trim(), composeAlertEmail('raise', link).text.trim());
    assert.ok(!first.raw.includes('Test p-mail') && !first.raw.includes('mg/dL'), 'no name, no value');
    assert.doesNotMatch(
      raised.text,
      new RegExp(`\\b${urgent.value}\\b(?!-)`),
      'the value is not in the text',
    );

    clock.offsetMs += 11 * 60_000;
    await h.vigil.alerts.tick();
    const second = await until('the escalation e-mail', mailOf('dr.b@hospital.example'));
    const escalated = readMail(second.raw);
    assert.equal(escalated.subject, 'Vigil: an urgent alert was passed to you');
    assert.equal(escalated.text.trim(), composeAlertEmail('escalate', link).text.trim());

    const audit = await until('two audit entries', async () => {
      const rows = await h.vigil.store.db
        .selectFrom('audit_log')
        .select(['actor', 'resource', 'outcome', 'purpose', 'patient_id'])
        .where('action', '=', 'notify.email')
        .where('resource', '=', `Alert/${urgent.id}`)
        .orderBy('seq')
        .execute();
      return rows.length >= 2 ? rows : undefined;
    });
    assert.deepEqual(
      audit.map((a) => [a.actor, a.resource, a.outcome]),
      [
        ['system:notify', `Alert/${urgent.id}`, 'success'],
        ['system:notify', `Alert/${urgent.id}`, 'success'],
      ],
    );
    assert.ok(
      audit.every((a) => !JSON.stringify(a).includes('@')),
      'no address in the audit trail',
    );
    const metrics = await h.api('/metrics');
    assert.match(metrics.text, /vigil_notify_emails_total\{outcome="sent"\} [2-9]/);
  });
});

describe('alert e-mail transport security', () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ store, cleanup } = await tempStore());
  });
  after(() => cleanup());

  const stateOf = async (alertId: string) =>
    (await new EmailDeliveryStore(store.db).list({ alertId }))[0]?.state;

  it('refuses to send over a relay that does not offer STARTTLS, and audits the failure', async () => {
    const smtp = await startSmtp({ startTls: false });
    const audited: AuditInput[] = [];
    const registry = new Registry();
    const [alertId] = await queueRaises(store, 1);
    const notifier = senderOn(store, smtp.port, {
      smtp: parseSmtpUrl(`smtp://127.0.0.1:${smtp.port}`),
      audited,
      registry,
      attempts: 2,
    });
    notifier.start();
    await until('the notice given up', async () =>
      (await stateOf(alertId!)) === 'failed' ? true : undefined,
    );
    await notifier.stop();
    await smtp.close();
    assert.equal(smtp.mails.length, 0, 'nothing went out in clear');
    assert.deepEqual(
      audited.map((a) => [a.action, a.outcome]),
      [['notify.email', 'failure']],
    );
    assert.match(await registry.metrics(), /vigil_notify_emails_total\{outcome="failed"\} 1/);
  });

  it('sends a burst of notices over a few pooled connections, not one connection each', async () => {
    let open = 0;
    let mostOpen = 0;
    let delivered = 0;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onConnect(_session, callback) {
        open++;
        mostOpen = Math.max(mostOpen, open);
        callback();
      },
      onClose() {
        open--;
      },
      onData(stream, _session, callback) {
        stream.resume();
        // A slow relay: each message takes a while, so the burst piles up.
        stream.on('end', () =>
          setTimeout(() => {
            delivered++;
            callback();
          }, 20),
        );
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.server.address() as AddressInfo;
    const ids = await queueRaises(store, 30);
    const notifier = senderOn(store, port, { attempts: 1 });
    notifier.start();
    await until('30 notices sent', async () => {
      const states = await Promise.all(ids.map(stateOf));
      return states.every((s) => s === 'sent') ? true : undefined;
    });
    await notifier.stop();
    await new Promise<void>((r) => server.close(() => r()));
    assert.equal(delivered, 30);
    assert.ok(mostOpen <= 4, `${mostOpen} connections open at once`);
  });

  it('logs a refused recipient by reply code only, never the address the server repeats', async () => {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo(address, _session, callback) {
        callback(
          Object.assign(new Error(`<${address.address}>: Recipient address rejected: mailbox full`), {
            responseCode: 552,
          }),
        );
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.server.address() as AddressInfo;
    const lines: string[] = [];
    const [alertId] = await queueRaises(store, 1, 'jane');
    const notifier = senderOn(store, port, {
      addressOf: async () => 'jane.doe@hospital.example',
      log: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
      attempts: 1,
    });
    notifier.start();
    await until('the notice given up', async () =>
      (await stateOf(alertId!)) === 'failed' ? true : undefined,
    );
    await notifier.stop();
    await new Promise<void>((r) => server.close(() => r()));
    const warning = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'alert e-mail not delivered');
    assert.ok(warning, lines.join(''));
    assert.equal(warning.error.responseCode, 552);
    assert.ok(!lines.join('').includes('jane.doe'), 'the address is not in the log');
    const [row] = await new EmailDeliveryStore(store.db).list({ alertId: alertId! });
    assert.ok(!row?.lastError?.includes('jane.doe'), 'nor in the queue');
  });
});
