import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type pg from 'pg';
import { openScratchSchema } from '../../../test/support/pg-scratch-schema.ts';
import { migrateTo, migrateToLatest } from '../migrate.ts';

const BEFORE = '0013-vex-version-range';
/** How the patient gate finds a caller's care teams (readable-patients.ts). */
const TEAMS_OF_MEMBER = "SELECT team_id FROM care_team_members WHERE member = 'dr-ward'";

describe('migration 0014: care-team members found by member (SQLite)', () => {
  let dir: string;
  let db: BetterSqlite3.Database;
  let kysely: Kysely<unknown>;
  const plan = () =>
    (db.prepare(`EXPLAIN QUERY PLAN ${TEAMS_OF_MEMBER}`).all() as Array<{ detail: string }>)
      .map((r) => r.detail)
      .join('; ');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-0014-'));
    db = new BetterSqlite3(join(dir, 'vigil.db'));
    kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
    await migrateTo(kysely, 'sqlite', BEFORE);
    db.prepare("INSERT INTO care_teams (id, name, created_at) VALUES ('ward', 'Ward 7', 0)").run();
    db.prepare(
      "INSERT INTO care_team_members (team_id, member, position) VALUES ('ward', 'dr-ward', 0)",
    ).run();
  });
  after(async () => {
    await kysely.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('turns the scan of every member into an index search, keeping the rows', async () => {
    assert.match(plan(), /^SCAN care_team_members/, 'before: the primary key leads with the team');
    await migrateToLatest(kysely, 'sqlite');
    assert.match(
      plan(),
      /SEARCH care_team_members USING COVERING INDEX care_team_members_member \(member=\?\)/,
    );
    assert.deepEqual(db.prepare(TEAMS_OF_MEMBER).all(), [{ team_id: 'ward' }]);
  });
});

describe('migration 0014 on PostgreSQL', () => {
  let schema: string;
  let pool: pg.Pool;
  let kysely: Kysely<unknown>;
  let drop: () => Promise<void>;

  before(async () => {
    ({ schema, pool, kysely, drop } = await openScratchSchema('vigil_0014'));
  });
  after(() => drop());

  it('adds the index on (member, team_id) and keeps the rows', async () => {
    await migrateTo(kysely, 'postgres', BEFORE, schema);
    await sql`INSERT INTO care_teams (id, name, created_at) VALUES ('ward', 'Ward 7', 0)`.execute(kysely);
    await sql`INSERT INTO care_team_members (team_id, member, position) VALUES ('ward', 'dr-ward', 0)`.execute(
      kysely,
    );
    await migrateToLatest(kysely, 'postgres', schema);
    const { rows } = await pool.query(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'care_team_members_member'",
      [schema],
    );
    assert.equal(rows.length, 1);
    assert.match(rows[0].indexdef, /\(member, team_id\)/);
    // The planner prefers a scan of so small a table; with scans off it shows it can search the index.
    await pool.query('SET enable_seqscan = off');
    const explained = await pool.query(`EXPLAIN ${TEAMS_OF_MEMBER}`);
    await pool.query('RESET enable_seqscan');
    assert.match(explained.rows.map((r) => r['QUERY PLAN']).join('\n'), /care_team_members_member/);
    assert.deepEqual((await pool.query(TEAMS_OF_MEMBER)).rows, [{ team_id: 'ward' }]);
  });
});
