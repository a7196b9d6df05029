import { type Kysely, PostgresAdapter, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { PatientScope } from './readable-patients.ts';

/**
 * `column` in (or not in) a set of ids bound as one parameter, not one each: a care team may
 * hold more patients than an IN list may bind (32766 parameters on SQLite, 65535 on
 * PostgreSQL). SQLite reads the set from a JSON array, PostgreSQL from a text[].
 */
export function idIn(
  column: string,
  ids: ReadonlySet<string>,
  isPostgres: boolean,
  isExcept: boolean,
): RawBuilder<SqlBool> {
  const ref = sql.ref(column);
  if (isPostgres) {
    const list = sql.val([...ids]);
    return isExcept
      ? sql<SqlBool>`${ref} <> all(${list}::text[])`
      : sql<SqlBool>`${ref} = any(${list}::text[])`;
  }
  const set = sql`(select value from json_each(${JSON.stringify([...ids])}))`;
  return isExcept ? sql<SqlBool>`${ref} not in ${set}` : sql<SqlBool>`${ref} in ${set}`;
}

/**
 * The condition a list query adds so that `column` (a patient id) stays in `scope`; undefined
 * when the scope leaves nobody out (an integration no patient refuses). An `only` scope that is
 * empty matches nothing: callers answer it without a query (isEmptyScope).
 */
export function inPatientScope(
  column: string,
  scope: PatientScope,
  isPostgres: boolean,
): RawBuilder<SqlBool> | undefined {
  if (scope.only) return idIn(column, scope.only, isPostgres, false);
  return scope.except.size > 0 ? idIn(column, scope.except, isPostgres, true) : undefined;
}

/** A scope no patient is in: the list is empty and needs no query. */
export function isEmptyScope(scope: PatientScope | undefined): boolean {
  return scope?.only?.size === 0;
}

/** Whether a store's database is PostgreSQL: the scope conditions above are written per dialect. */
export function isPostgresDb<DB>(db: Kysely<DB>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}
