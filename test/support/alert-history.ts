import { type Kysely, sql } from 'kysely';

/**
 * An alert with `events` history steps written with plain SQL, as an earlier release left
 * them: what the outbox migrations (0015, 0017) start their cursors after.
 */
export async function alertWithHistory(db: Kysely<unknown>, id: string, events: number): Promise<void> {
  await sql`INSERT INTO alerts (id, patient_id, condition, device_id, urgency, state, sealed_value,
      opened_ms, updated_ms, onset_ms, escalation_level, assigned_ms)
    VALUES (${id}, 'p-1', 'glucose-urgent-low', '', 'urgent', 'open', ${Buffer.from('sealed')},
      1, 1, 1, 0, 1)`.execute(db);
  for (let i = 0; i < events; i++) {
    await sql`INSERT INTO alert_events (alert_id, ts, actor, action, detail)
      VALUES (${id}, ${i}, 'system:alerts', 'raise', 'raised')`.execute(db);
  }
}
