import type { Kysely } from 'kysely';

/**
 * A clinician's lists (alerts, patients, data-quality notices) ask the patient gate for every
 * patient the caller may see (readable-patients.ts), which finds the caller's care teams by
 * member name. The primary key (team_id, member) leads with the team, so that lookup read the
 * whole table; this index leads with the member and carries the team, so it answers alone.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('care_team_members_member')
    .on('care_team_members')
    .columns(['member', 'team_id'])
    .execute();
}
