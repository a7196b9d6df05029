/**
 * The pruning of finished notification rows in a running Vigil: it follows
 * VIGIL_NOTIFY_RETENTION_DAYS, counts on /metrics, and stops with the server.
 * The rules themselves are specified in src/notify/outbox-retention.test.ts, on both backends.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { until } from './support/until.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const DAY_MS = 86_400_000;

describe('notification retention in a running Vigil', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      env: { VIGIL_NOTIFY_RETENTION_DAYS: '2' },
      start: { outboxRetention: { firstPassAfterMs: 0, intervalMs: 100 } },
    });
  });
  after(() => h.stop());

  /** A webhook delivery dead-lettered `daysAgo` days ago, as the dispatcher leaves one. */
  const deadLetter = async (id: string, daysAgo: number) => {
    const atMs = Date.now() - daysAgo * DAY_MS;
    await h.vigil.store.db
      .insertInto('webhook_deliveries')
      .values({
        id,
        webhook_id: 'wh_gone',
        event_type: 'alert.raised',
        payload: '{}',
        state: 'dead',
        attempts: 8,
        next_attempt_ms: atMs,
        last_status: 503,
        last_error: 'HTTP 503',
        created_ms: atMs - DAY_MS,
        updated_ms: atMs,
      })
      .execute();
  };
  const prunedOnMetrics = async (table: string) => {
    const line = (await h.api('/metrics')).text
      .split('\n')
      .find((l) => l.startsWith(`vigil_outbox_pruned_total{table="${table}"}`));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  };

  it('shows the pruned count of every table on /metrics from the start', async () => {
    for (const table of ['email_deliveries', 'webhook_deliveries', 'device_events']) {
      assert.notEqual(await prunedOnMetrics(table), undefined, table);
    }
  });

  it('prunes by the configured retention, not the default', async () => {
    await deadLetter('msg_three_days', 3);
    await deadLetter('msg_one_day', 1);
    await until('the dead letter past 2 days to be pruned', async () =>
      (await prunedOnMetrics('webhook_deliveries')) === 1 ? true : undefined,
    );
    const left = await h.vigil.store.db.selectFrom('webhook_deliveries').select('id').execute();
    assert.deepEqual(
      left.map((r) => r.id),
      ['msg_one_day'],
    );
  });
});
