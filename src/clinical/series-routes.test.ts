import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness, telemetry } from '../../test/support/vigil-harness.ts';
import { ApiTokens } from '../access/api-tokens.ts';

interface Obs {
  code: string;
  value: number;
  unit: string;
  effective: string;
  device: string;
}
interface Answer {
  observations?: Obs[];
  truncated?: boolean;
  next?: string;
  buckets?: Array<{ code: string; start: string; count: number; min: number; max: number; mean: number }>;
  series?: Array<{ code: string; readings: number; points: Array<{ effective: string; value: number }> }>;
  latest?: Obs[];
}

const MINUTE = 60_000;

describe('observation queries over HTTPS', () => {
  let h: Harness;
  const start = Math.floor((Date.now() - 3 * 3_600_000) / 3_600_000) * 3_600_000;
  const from = new Date(start).toISOString();
  const to = new Date(start + 2 * 3_600_000 - 1).toISOString();
  const get = async (path: string) => {
    const r = await h.api(path);
    assert.equal(r.status, 200, r.text);
    return r.json as Answer;
  };

  before(async () => {
    h = await startHarness();
    await h.enrol('q-ox', 'q-pat', start - 3_600_000);
    // Two hours of a reading a minute, through the real ingest pipeline.
    for (let m = 0; m < 120; m++) {
      const ts = new Date(start + m * MINUTE).toISOString();
      const payload = telemetry(
        m + 1,
        [
          { code: '8867-4', value: m === 77 ? 150 : 70 + (m % 5), unit: '/min', ts },
          { code: '59408-5', value: 96, unit: '%', ts },
        ],
        new Date(start + m * MINUTE),
      );
      await h.vigil.pipeline.accept('q-ox', Buffer.from(payload), 'http');
    }
  });
  after(() => h.stop());

  it('pages raw readings oldest first with a cursor, each reading once', async () => {
    const seen: Obs[] = [];
    let next: string | undefined;
    do {
      const page = await get(
        `/api/v1/patients/q-pat/observations?code=8867-4&from=${from}&to=${to}&limit=50${next ? `&cursor=${next}` : ''}`,
      );
      seen.push(...page.observations!);
      assert.equal(page.truncated, page.next !== undefined);
      next = page.next;
    } while (next);
    assert.equal(seen.length, 120);
    assert.deepEqual(
      seen.map((o) => o.effective),
      Array.from({ length: 120 }, (_, m) => new Date(start + m * MINUTE).toISOString()),
    );
    assert.deepEqual(seen[0], {
      code: '8867-4',
      value: 70,
      unit: '/min',
      effective: new Date(start).toISOString(),
      device: 'q-ox',
    });
  });

  it('answers min/max/mean buckets at a resolution', async () => {
    const r = await get(
      `/api/v1/patients/q-pat/observations?code=8867-4&from=${from}&to=${to}&resolution=1h`,
    );
    assert.equal(r.buckets!.length, 2);
    const [first, second] = r.buckets!;
    assert.deepEqual([first!.count, first!.min, first!.max, first!.mean], [60, 70, 74, 72]);
    assert.equal(second!.max, 150, 'the max keeps the spike a mean hides');
  });

  it('answers a chart series downsampled with LTTB', async () => {
    const r = await get(
      `/api/v1/patients/q-pat/observations?from=${from}&to=${to}&downsample=lttb&points=20`,
    );
    const hr = r.series!.find((s) => s.code === '8867-4')!;
    assert.equal(hr.readings, 120);
    assert.equal(hr.points.length, 20);
    assert.equal(hr.points[0]!.effective, new Date(start).toISOString());
    assert.equal(hr.points.at(-1)!.effective, new Date(start + 119 * MINUTE).toISOString());
    assert.ok(
      hr.points.some((p) => p.value === 150),
      'the spike survives downsampling',
    );
  });

  it('answers the latest value per code', async () => {
    const r = await get('/api/v1/patients/q-pat/observations/latest');
    assert.deepEqual(
      r.latest!.map((o) => [o.code, o.effective]),
      [
        ['59408-5', new Date(start + 119 * MINUTE).toISOString()],
        ['8867-4', new Date(start + 119 * MINUTE).toISOString()],
      ],
    );
  });

  it('audits every read with the reader and the patient', async () => {
    const before = await h.vigil.store.db
      .selectFrom('audit_log')
      .select(['action'])
      .where('patient_id', '=', 'q-pat')
      .execute();
    await get('/api/v1/patients/q-pat/observations/latest');
    await get(`/api/v1/patients/q-pat/observations?from=${from}&to=${to}&resolution=5m`);
    const rows = await h.vigil.store.db
      .selectFrom('audit_log')
      .select(['action', 'actor'])
      .where('patient_id', '=', 'q-pat')
      .orderBy('seq')
      .execute();
    assert.deepEqual(
      rows.slice(before.length).map((r) => [r.action, r.actor]),
      [
        ['observation.read-latest', 'token:test-clinician'],
        ['observation.read', 'token:test-clinician'],
      ],
    );
  });

  it('marks readings sent while their device was under a data-quality notice', async () => {
    await h.enrol('jump-ox', 'jump-pat');
    const t0 = Date.now() - 10 * MINUTE;
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    // 70 -> 200 within 10 s is faster than any heart can change: an implausible jump.
    const values: Array<[number, number]> = [
      [0, 70],
      [MINUTE, 71],
      [2 * MINUTE, 72],
      [2 * MINUTE + 10_000, 200],
      [5 * MINUTE, 72],
    ];
    let seq = 0;
    for (const [ms, value] of values) {
      // SpO2 measured at the same instants is plausible: only the heart-rate jump is marked.
      const payload = telemetry(++seq, [
        { code: '8867-4', value, unit: '/min', ts: at(ms) },
        { code: '59408-5', value: 97, unit: '%', ts: at(ms) },
      ]);
      await h.vigil.pipeline.accept('jump-ox', Buffer.from(payload), 'http');
    }
    for (let i = 0; i < 100; i++) {
      const r = await h.api('/api/v1/data-quality?device=jump-ox');
      if ((r.json as { notices: unknown[] }).notices.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const r = await get(
      `/api/v1/patients/jump-pat/observations?downsample=lttb&points=100&from=${at(-MINUTE)}`,
    );
    const flags = (code: string) =>
      (r.series?.find((s) => s.code === code)?.points ?? []).map((p) => [
        p.value,
        (p as { questionable?: boolean }).questionable === true,
      ]);
    assert.deepEqual(
      flags('8867-4'),
      values.map(([, v]) => [v, v === 200]),
    );
    assert.deepEqual(
      flags('59408-5'),
      values.map(() => [97, false]),
    );
    const raw = await get(`/api/v1/patients/jump-pat/observations?from=${at(-MINUTE)}`);
    assert.deepEqual(
      raw.observations?.filter((o) => (o as { questionable?: boolean }).questionable).map((o) => o.value),
      [200],
    );
  });

  it("marks only the flagged device's reading, not another device's at the same instant", async () => {
    await h.enrol('pair-a', 'pair-pat');
    await h.enrol('pair-b', 'pair-pat');
    const t0 = Math.floor((Date.now() - 10 * MINUTE) / 1000) * 1000;
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    const send = (device: string, seq: number, ms: number, value: number) =>
      h.vigil.pipeline.accept(
        device,
        Buffer.from(telemetry(seq, [{ code: '8867-4', value, unit: '/min', ts: at(ms) }])),
        'http',
      );
    // pair-a jumps 60 -> 200 in 10 s (implausible); pair-b reads 62 and 64 at the same instants.
    await send('pair-a', 1, 0, 60);
    await send('pair-a', 2, 10_000, 200);
    await send('pair-b', 1, 0, 62);
    await send('pair-b', 2, 10_000, 64);
    for (let i = 0; i < 100; i++) {
      const r = await h.api('/api/v1/data-quality?device=pair-a');
      if ((r.json as { notices: unknown[] }).notices.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const range = `code=8867-4&from=${at(-1000)}&to=${at(20_000)}`;
    const raw = await get(`/api/v1/patients/pair-pat/observations?${range}`);
    assert.deepEqual(
      raw.observations?.map((o) => [
        o.device,
        o.value,
        (o as { questionable?: boolean }).questionable === true,
      ]),
      [
        ['pair-a', 60, false],
        ['pair-b', 62, false],
        ['pair-a', 200, true],
        ['pair-b', 64, false],
      ],
    );
    const chart = await get(`/api/v1/patients/pair-pat/observations?${range}&downsample=lttb&points=10`);
    // Points of one instant from two devices come in no particular order.
    assert.deepEqual(
      chart.series?.[0]?.points
        .map((p) => [p.value, (p as { questionable?: boolean }).questionable === true])
        .sort(([a], [b]) => Number(a) - Number(b)),
      [
        [60, false],
        [62, false],
        [64, false],
        [200, true],
      ],
    );
  });

  it('answers bad queries and unknown patients with problem documents', async () => {
    for (const [query, detail] of [
      ['resolution=5x', /resolution=5x is not a bucket width/],
      ['downsample=lttb&limit=5', /one answer/],
      ['cursor=abc', /not a page token/],
      ['code=8867-4;drop', /not a LOINC code list/],
    ] as const) {
      const r = await h.api(`/api/v1/patients/q-pat/observations?${query}`);
      assert.equal(r.status, 400, query);
      assert.match(String(r.headers['content-type']), /application\/problem\+json/);
      assert.match((r.json as { detail: string }).detail, detail);
    }
    // 404 to a caller who may know every patient; a clinician gets the refusal a patient
    // outside their care team gets (test/patient-id-probing.test.ts).
    const integration = await new ApiTokens(h.vigil.store.db).create({
      role: 'integration',
      name: 'series-feed',
      ttlSeconds: 600,
    });
    const unknown = await h.api('/api/v1/patients/nobody/observations/latest', { token: integration.token });
    assert.equal(unknown.status, 404);
    assert.equal((unknown.json as { code: string }).code, 'VIGIL_ERR_PATIENT_UNKNOWN');
    const probed = await h.api('/api/v1/patients/nobody/observations/latest');
    assert.equal(probed.status, 403);
    assert.match(String(probed.headers['content-type']), /application\/problem\+json/);
  });
});
