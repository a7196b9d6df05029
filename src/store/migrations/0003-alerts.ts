import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from '../migrate.ts';

/** Care teams, alert rules, alerts with their history, and data-quality notices (issue #3). */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>, { blob, bigint, autoId }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('care_teams')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  // position orders escalation: 0 gets an alert first, 1 when 0 does not acknowledge in time.
  await db.schema
    .createTable('care_team_members')
    .addColumn('team_id', 'text', (c) => c.notNull().references('care_teams.id').onDelete('cascade'))
    .addColumn('member', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('care_team_members_pk', ['team_id', 'member'])
    .execute();
  await db.schema
    .createTable('care_team_patients')
    .addColumn('team_id', 'text', (c) => c.notNull().references('care_teams.id').onDelete('cascade'))
    .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id'))
    .addColumn('since_ms', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('care_team_patients_pk', ['team_id', 'patient_id'])
    .execute();
  await db.schema
    .createIndex('care_team_patients_patient')
    .on('care_team_patients')
    .columns(['patient_id'])
    .execute();
  await db.schema
    .createTable('alert_rules')
    .addColumn('patient_id', 'text', (c) => c.primaryKey().references('patients.id'))
    .addColumn('overrides', 'text', (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .execute();
  // The value that raised an alert is patient data: sealed with the patient's key, like readings.
  await db.schema
    .createTable('alerts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('patient_id', 'text', (c) => c.notNull())
    .addColumn('condition', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('urgency', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('sealed_value', blob, (c) => c.notNull())
    .addColumn('opened_ms', bigint, (c) => c.notNull())
    .addColumn('updated_ms', bigint, (c) => c.notNull())
    .addColumn('onset_ms', bigint, (c) => c.notNull())
    .addColumn('acknowledged_by', 'text')
    .addColumn('acknowledged_ms', bigint)
    .addColumn('snoozed_until_ms', bigint)
    .addColumn('resolved_ms', bigint)
    .addColumn('resolved_by', 'text')
    .addColumn('resolution', 'text')
    .addColumn('escalation_level', 'integer', (c) => c.notNull())
    .addColumn('assigned_to', 'text')
    .addColumn('assigned_ms', bigint, (c) => c.notNull())
    .execute();
  // One open alert per (patient, condition, device), enforced by the store itself.
  await db.schema
    .createIndex('alerts_one_open')
    .on('alerts')
    .columns(['patient_id', 'condition', 'device_id'])
    .unique()
    .where(sql.ref('state'), '<>', sql.lit('resolved'))
    .execute();
  await db.schema.createIndex('alerts_state').on('alerts').columns(['state', 'opened_ms']).execute();
  await db.schema.createIndex('alerts_patient').on('alerts').columns(['patient_id', 'opened_ms']).execute();
  await autoId(db.schema.createTable('alert_events'))
    .addColumn('alert_id', 'text', (c) => c.notNull().references('alerts.id'))
    .addColumn('ts', bigint, (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alert_events_alert').on('alert_events').columns(['alert_id', 'ts']).execute();
  await autoId(db.schema.createTable('data_quality_notices'))
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('patient_id', 'text', (c) => c.notNull())
    .addColumn('issue', 'text', (c) => c.notNull())
    .addColumn('first_ms', bigint, (c) => c.notNull())
    .addColumn('last_ms', bigint, (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('cleared_ms', bigint)
    .execute();
  await db.schema
    .createIndex('data_quality_notices_device')
    .on('data_quality_notices')
    .columns(['device_id', 'issue', 'cleared_ms'])
    .execute();
}
