import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { ROLES, type Role } from '../src/access/roles.ts';
import { CareTeamStore } from '../src/clinical/care-teams.store.ts';
import { httpsRequest } from './support/https-client.ts';
import { type OpenStream, openStream, type StreamFrame, StreamRefused } from './support/stream-client.ts';
import { type Harness, publishQos1, startHarness } from './support/vigil-harness.ts';

/**
 * The live stream end to end: a real Vigil, a real mTLS MQTT device, a real `ws` client.
 * Pings and gate decisions are shortened so a logout or a revoked consent shows within a
 * test; the assertions wait for events, never for a time.
 */

const HR = '8867-4';
const SPO2 = '59408-5';

async function refusal(p: Promise<unknown>): Promise<StreamRefused> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StreamRefused) return e;
    throw e;
  }
  assert.fail('the stream opened');
}

const isReadingsOf = (patientId: string) => (f: StreamFrame) =>
  f.type === 'readings' && f.patientId === patientId;

describe('live stream', () => {
  let h: Harness;
  const tokens = new Map<Role, string>();
  let outsider: string;
  let seq = 1;

  before(async () => {
    h = await startHarness({ start: { stream: { pingMs: 150, decisionTtlMs: 100 } } });
    const api = new ApiTokens(h.vigil.store.db);
    for (const role of ROLES) {
      tokens.set(role, (await api.create({ role, name: `stream-${role}`, ttlSeconds: 600 })).token);
    }
    // A clinician on no care team: the gate must keep every patient from them.
    outsider = (await api.create({ role: 'clinician', name: 'stream-outsider', ttlSeconds: 600 })).token;
  });
  after(async () => {
    await h.stop();
  });

  const stream = (opts: Parameters<typeof openStream>[2]) => openStream(h.baseUrl, h.caPem, opts);

  /** Enrols and connects a device for the patient; returns a publisher of one message. */
  async function device(deviceId: string, patientId: string) {
    const client = await h.connect(await h.enrol(deviceId, patientId), deviceId);
    return async (readings: Array<{ code: string; value: number; tsMs: number }>) => {
      const payload = JSON.stringify({
        seq: seq++,
        ts: new Date().toISOString(),
        readings: readings.map((r) => ({
          code: r.code,
          value: r.value,
          unit: r.code === SPO2 ? '%' : '/min',
          ts: new Date(r.tsMs).toISOString(),
        })),
      });
      assert.equal(await publishQos1(client, `v1/devices/${deviceId}/telemetry`, payload), 0);
    };
  }

  async function sessionCookie(role: Role): Promise<{ cookie: string; csrf: string }> {
    const { user } = await h.vigil.access.users.create({
      username: `stream-${role}-${Math.random().toString(36).slice(2, 8)}`,
      role,
      password: 'stream passphrase for a test user',
    });
    const s = await h.vigil.access.sessions.create(user.id, 'full', undefined);
    return { cookie: `__Host-vigil_session=${s.id}`, csrf: s.csrfToken };
  }

  it('refuses a connection without credentials with a problem document', async () => {
    const r = await refusal(stream({}));
    assert.equal(r.status, 401);
    assert.equal(r.body?.code, 'VIGIL_ERR_AUTH_REQUIRED');
  });

  it('refuses an invalid patient query before the upgrade', async () => {
    const r = await refusal(stream({ token: h.clinicianToken, query: 'patient=..%2Fsecret' }));
    assert.equal(r.status, 400);
    assert.equal(r.body?.code, 'VIGIL_ERR_REQUEST_INVALID');
    assert.match(r.body?.detail ?? '', /is not a patient id/);
  });

  it('answers a plain GET with 426 and a problem document', async () => {
    const r = await httpsRequest(`${h.baseUrl}/api/v1/stream`, { ca: h.caPem, token: h.clinicianToken });
    assert.equal(r.status, 426);
    assert.equal((r.json as { code: string }).code, 'VIGIL_ERR_STREAM_UPGRADE_REQUIRED');
  });

  it('opens for each role exactly the topics its permissions allow (real upgrades)', async () => {
    const expected: Record<Role, string[] | null> = {
      admin: ['security'],
      security: ['security'],
      clinician: ['readings', 'alerts'],
      auditor: ['security'],
      patient: null,
      integration: ['readings', 'alerts'],
    };
    for (const role of ROLES) {
      const open = stream({ token: tokens.get(role)! });
      if (expected[role] === null) {
        const r = await refusal(open);
        assert.equal(r.status, 403, role);
        assert.equal(r.body?.code, 'VIGIL_ERR_AUTH_FORBIDDEN');
        continue;
      }
      const s = await open;
      const hello = await s.waitFor((f) => f.type === 'hello', 'hello');
      assert.deepEqual(hello, { type: 'hello', topics: expected[role], patients: null }, role);
      s.ws.close();
      await s.closed;
    }
  });

  it('narrows a scoped token to the topics of its scopes', async () => {
    const scoped = await new ApiTokens(h.vigil.store.db).create({
      role: 'integration',
      name: 'stream-alerts-only',
      ttlSeconds: 600,
      scopes: ['alerts:read'],
    });
    const s = await stream({ token: scoped.token });
    assert.deepEqual((await s.waitFor((f) => f.type === 'hello', 'hello')).topics, ['alerts']);
    s.ws.close();
    const r = await refusal(stream({ token: scoped.token, query: 'topics=readings' }));
    assert.equal(r.status, 403);
  });

  it('refuses an administrator who asks for readings: admins read no patient data', async () => {
    const r = await refusal(stream({ token: tokens.get('admin')!, query: 'topics=readings' }));
    assert.equal(r.status, 403);
    assert.match(r.body?.detail ?? '', /observations:read/);
  });

  it('refuses a session cookie from another origin and accepts it from its own', async () => {
    const { cookie } = await sessionCookie('clinician');
    const evil = await refusal(stream({ cookie, origin: 'https://evil.example' }));
    assert.equal(evil.status, 403);
    assert.equal(evil.body?.code, 'VIGIL_ERR_STREAM_ORIGIN');
    const none = await refusal(stream({ cookie }));
    assert.equal(none.status, 403);
    const s = await stream({ cookie, origin: h.baseUrl, query: 'topics=alerts' });
    const hello = await s.waitFor((f) => f.type === 'hello', 'hello');
    assert.deepEqual(hello.topics, ['alerts']);
    s.ws.close();
  });

  it('closes the stream with 1008 when the session behind it ends', async () => {
    const { cookie, csrf } = await sessionCookie('clinician');
    const s = await stream({ cookie, origin: h.baseUrl });
    await s.waitFor((f) => f.type === 'hello', 'hello');
    const out = await httpsRequest(`${h.baseUrl}/api/v1/auth/logout`, {
      ca: h.caPem,
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf },
    });
    assert.ok(out.status < 300, out.text);
    const error = await s.waitFor((f) => f.type === 'error', 'the error frame');
    assert.equal(error.code, 'VIGIL_ERR_AUTH_REQUIRED');
    assert.equal((await s.closed).code, 1008);
  });

  it('closes a token stream when the token is revoked', async () => {
    const api = new ApiTokens(h.vigil.store.db);
    const t = await api.create({ role: 'integration', name: 'stream-revoked', ttlSeconds: 600 });
    const s = await stream({ token: t.token });
    await s.waitFor((f) => f.type === 'hello', 'hello');
    await h.vigil.access.tokens.revoke(t.id);
    const error = await s.waitFor((f) => f.type === 'error', 'the error frame');
    assert.equal(error.code, 'VIGIL_ERR_AUTH_REQUIRED');
    assert.equal((await s.closed).code, 1008);
  });

  it('streams a care-team patient the readings and the alert a real desaturation raises, audited once', async () => {
    const publish = await device('st-ox-desat', 'st-desat');
    const s = await stream({ token: h.clinicianToken });
    await s.waitFor((f) => f.type === 'hello', 'hello');
    const start = Date.now() - 180_000;
    for (let sec = 0; sec < 180; sec += 10) {
      const batch = [];
      for (let k = sec; k < sec + 10; k++) {
        batch.push({ code: HR, value: 88 + (k % 5), tsMs: start + k * 1000 });
        batch.push({ code: SPO2, value: k >= 60 ? 86 + (k % 2) : 96 - (k % 2), tsMs: start + k * 1000 });
      }
      await publish(batch);
    }
    const alert = await s.waitFor((f) => f.type === 'alert' && f.action === 'raise', 'the raised alert');
    const a = alert.alert as { patient: string; condition: string; state: string; id: string };
    assert.deepEqual([a.patient, a.condition, a.state], ['st-desat', 'spo2-low', 'open']);
    const listed = await h.api('/api/v1/alerts?patient=st-desat', { token: h.clinicianToken });
    assert.deepEqual((listed.json as { alerts: unknown[] }).alerts[0], a, 'the same shape as the alert list');

    const readings = s.frames.filter(isReadingsOf('st-desat'));
    assert.equal(readings.length, 18);
    assert.equal(readings[0]!.deviceId, 'st-ox-desat');
    assert.deepEqual((readings[0]!.readings as unknown[])[1], {
      code: SPO2,
      value: 96,
      unit: '%',
      ts: new Date(start).toISOString(),
      questionable: false,
    });
    const audit = await h.vigil.store.db
      .selectFrom('audit_log')
      .select(['actor', 'patient_id'])
      .where('action', '=', 'stream.read')
      .where('patient_id', '=', 'st-desat')
      .execute();
    assert.deepEqual(audit, [{ actor: 'token:test-clinician', patient_id: 'st-desat' }]);
    s.ws.close();
  });

  it('marks readings the rules judge questionable', async () => {
    const publish = await device('st-ox-stuck', 'st-stuck');
    const s = await stream({ token: h.clinicianToken, query: 'patient=st-stuck&topics=readings' });
    const start = Date.now() - 60_000;
    await publish(Array.from({ length: 60 }, (_, k) => ({ code: HR, value: 35, tsMs: start + k * 1000 })));
    const frame = await s.waitFor(isReadingsOf('st-stuck'), 'the stuck readings');
    const flags = (frame.readings as Array<{ questionable: boolean }>).map((r) => r.questionable);
    assert.equal(flags[0], false, 'one value alone is no flat line');
    assert.equal(flags.at(-1), true, 'a minute of one exact heart rate is');
    s.ws.close();
  });

  it('gives a clinician without the care-team link nothing of that patient', async () => {
    const publishA = await device('st-ox-a', 'st-a');
    const publishB = await device('st-ox-b', 'st-b');
    await new CareTeamStore(h.vigil.store.db).create('stream-ward', 'Stream ward');
    await new CareTeamStore(h.vigil.store.db).setMembers('stream-ward', ['stream-outsider']);
    await new CareTeamStore(h.vigil.store.db).addPatient('stream-ward', 'st-b');
    const s = await stream({ token: outsider });
    await s.waitFor((f) => f.type === 'hello', 'hello');
    await publishA([{ code: HR, value: 70, tsMs: Date.now() - 1000 }]);
    await publishB([{ code: HR, value: 71, tsMs: Date.now() - 1000 }]);
    // Frames keep their order per connection: B's arriving means A's was judged and withheld.
    await s.waitFor(isReadingsOf('st-b'), "patient B's readings");
    assert.deepEqual(s.frames.filter(isReadingsOf('st-a')), []);
    s.ws.close();
  });

  type Publish = Awaited<ReturnType<typeof device>>;

  /**
   * Publishes to the cut-off patient and then to a marker patient until a round delivers the
   * marker but not the other: frames keep their order per connection, so the marker arriving
   * means the other was judged, and withheld, before it. Then checks it stays withheld.
   */
  async function untilWithheld(
    s: OpenStream,
    cut: [string, Publish],
    marker: [string, Publish],
    what: string,
  ) {
    const count = (p: string) => s.frames.filter(isReadingsOf(p)).length;
    const round = async () => {
      const [cutBefore, markerBefore] = [count(cut[0]), count(marker[0])];
      await cut[1]([{ code: HR, value: 73, tsMs: Date.now() - 1000 }]);
      await marker[1]([{ code: HR, value: 74, tsMs: Date.now() - 1000 }]);
      await s.waitFor(() => count(marker[0]) > markerBefore, `the marker patient's next reading`);
      return count(cut[0]) === cutBefore;
    };
    // The connection may trust its last decision for up to decisionTtlMs; keep going until it asks again.
    for (let i = 0; !(await round()); i++) assert.ok(i < 200, `${what} never took effect`);
    assert.ok(await round(), `${what}: delivery resumed`);
  }

  it('stops delivery once the patient withdraws consent', async () => {
    const publishC = await device('st-ox-c', 'st-c');
    const publishD = await device('st-ox-d', 'st-d');
    const s = await stream({ token: h.clinicianToken, query: 'patient=st-c&patient=st-d' });
    await publishC([{ code: HR, value: 72, tsMs: Date.now() - 2000 }]);
    await s.waitFor(isReadingsOf('st-c'), 'the first reading');
    const deny = await h.api('/api/v1/patients/st-c/consents', {
      method: 'POST',
      body: { decision: 'deny', purposes: ['treatment'], categories: ['*'] },
    });
    assert.equal(deny.status, 201, deny.text);
    await untilWithheld(s, ['st-c', publishC], ['st-d', publishD], 'the withdrawn consent');
    s.ws.close();
  });

  it('withholds the alerts of a patient whose consent denies alerts, and still streams the readings', async () => {
    const glucose = async (deviceId: string, patientId: string) => {
      const client = await h.connect(await h.enrol(deviceId, patientId), deviceId);
      return (value: number) =>
        publishQos1(
          client,
          `v1/devices/${deviceId}/telemetry`,
          JSON.stringify({
            seq: seq++,
            ts: new Date().toISOString(),
            readings: [{ code: '2339-0', value, unit: 'mg/dL' }],
          }),
        );
    };
    const publishG = await glucose('st-gl-g', 'st-g');
    const publishH = await glucose('st-gl-h', 'st-h');
    const deny = await h.api('/api/v1/patients/st-g/consents', {
      method: 'POST',
      body: { decision: 'deny', purposes: ['*'], categories: ['alerts'] },
    });
    assert.equal(deny.status, 201, deny.text);
    const s = await stream({ token: h.clinicianToken, query: 'patient=st-g&patient=st-h' });
    await s.waitFor((f) => f.type === 'hello', 'hello');
    assert.equal(await publishG(40), 0);
    await h.vigil.alerts.idle();
    assert.equal(await publishH(40), 0);
    await h.vigil.alerts.idle();
    // Frames keep their order per connection: H's alert arriving means G's was judged before it.
    await s.waitFor(
      (f) => f.type === 'alert' && (f.alert as { patient: string }).patient === 'st-h',
      "H's alert",
    );
    assert.deepEqual(
      s.frames.filter((f) => f.type === 'alert' && (f.alert as { patient: string }).patient === 'st-g'),
      [],
    );
    assert.ok(s.frames.some(isReadingsOf('st-g')), 'readings are another category: still streamed');
    s.ws.close();
  });

  it('stops delivery once the patient leaves the care team', async () => {
    const publishE = await device('st-ox-e', 'st-e');
    const publishF = await device('st-ox-f', 'st-f');
    const s = await stream({ token: h.clinicianToken, query: 'patient=st-e&patient=st-f' });
    await publishE([{ code: HR, value: 72, tsMs: Date.now() - 2000 }]);
    await s.waitFor(isReadingsOf('st-e'), 'the first reading');
    const removed = await h.api('/api/v1/care-teams/harness-ward/patients/st-e', { method: 'DELETE' });
    assert.equal(removed.status, 200, removed.text);
    await untilWithheld(s, ['st-e', publishE], ['st-f', publishF], 'the care-team removal');
    s.ws.close();
  });

  it('streams stored security events to the security officer', async () => {
    const s = await stream({ token: tokens.get('security')! });
    await s.waitFor((f) => f.type === 'hello', 'hello');
    const client = await h.connect(await h.enrol('st-ox-bad', 'st-bad'), 'st-ox-bad');
    assert.notEqual(await publishQos1(client, 'v1/devices/st-ox-bad/telemetry', '{not json'), 0);
    const frame = await s.waitFor(
      (f) => f.type === 'security' && (f.event as { deviceId?: string }).deviceId === 'st-ox-bad',
      'the security event',
    );
    const event = frame.event as { id: number; code: string; ts: string; severity: string };
    assert.equal(event.code, 'VIGIL_ERR_INGEST_BAD_JSON');
    const listed = await h.api('/api/v1/security/events?device=st-ox-bad', {
      token: tokens.get('security')!,
    });
    assert.deepEqual((listed.json as { events: unknown[] }).events[0], event, 'the same shape as the list');
    s.ws.close();
  });

  it('ignores small client frames and closes on an oversized one, counting it', async () => {
    const s = await stream({ token: h.clinicianToken });
    await s.waitFor((f) => f.type === 'hello', 'hello');
    s.ws.send('{"type":"subscribe"}');
    s.ws.send('x'.repeat(5000));
    const { code } = await s.closed;
    assert.ok(code === 1009 || code === 1006, `closed with ${code}`);
    const text = await h.vigil.metrics.registry.getSingleMetricAsString('vigil_stream_closes_total');
    assert.match(text, /reason="bad-frame"\} 1/);
  });

  it('counts open streams, frames and closes in /metrics', async () => {
    const metricsToken = tokens.get('security')!;
    const r = await h.api('/metrics', { token: metricsToken });
    assert.match(r.text, /vigil_stream_connections \d+/);
    assert.match(r.text, /vigil_stream_messages_total\{type="readings"\} [1-9]/);
    assert.match(r.text, /vigil_stream_closes_total\{reason="auth"\} [1-9]/);
  });
});

describe('live stream backpressure and shutdown', () => {
  let h: Harness;
  let client: MqttClient | undefined;
  before(async () => {
    // The default 30 s keepalive: the paused client must be cut off for its backlog, not its pong.
    h = await startHarness({ start: { stream: { maxBufferedBytes: 64 * 1024 } } });
  });
  after(async () => {
    client?.end(true);
    await h.stop();
  });

  it('cuts off a client that stops reading with 1013 and counts it', async () => {
    client = await h.connect(await h.enrol('st-ox-flood', 'st-flood'), 'st-ox-flood');
    const s = await openStream(h.baseUrl, h.caPem, { token: h.clinicianToken });
    await s.waitFor((f) => f.type === 'hello', 'hello');
    s.ws.pause();
    const slowCloses = async () => {
      const text = await h.vigil.metrics.registry.getSingleMetricAsString('vigil_stream_closes_total');
      return /reason="slow-consumer"\} [1-9]/.test(text);
    };
    const start = Date.now() - 3_600_000;
    let seq = 1;
    // Each message is ~800 readings (~75 KiB of frame); the kernel's socket buffers take a few MiB first.
    for (let m = 0; !(await slowCloses()); m++) {
      assert.ok(m < 400, 'the paused client was never cut off');
      const readings = Array.from({ length: 800 }, (_, k) => ({
        code: HR,
        value: 60 + ((m + k) % 40),
        unit: '/min',
        ts: new Date(start + (m * 800 + k) * 4).toISOString(),
      }));
      const payload = JSON.stringify({ seq: seq++, ts: new Date().toISOString(), readings });
      assert.equal(await publishQos1(client, 'v1/devices/st-ox-flood/telemetry', payload), 0);
    }
    s.ws.resume();
    assert.equal((await s.closed).code, 1013);
    assert.equal(h.vigil.stream.size, 0);
  });

  it('closes open streams with 1001 when the server stops', async () => {
    const s = await openStream(h.baseUrl, h.caPem, { token: h.clinicianToken });
    await s.waitFor((f) => f.type === 'hello', 'hello');
    await h.restart();
    assert.equal((await s.closed).code, 1001);
  });
});
