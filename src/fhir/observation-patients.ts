import type { Kysely } from 'kysely';
import type { PatientScope } from '../access/readable-patients.ts';
import type { Schema } from '../store/schema.ts';
import { patientHash } from './observation-id.ts';

/**
 * Which patient an Observation id names. The id holds only a hash of the patient id
 * (observation-id.ts), so the patient is found by hashing candidates:
 *
 * 1. the patients the caller may read (a clinician's care team and break-glass grants): a read
 *    of one's own patient, the usual case, needs no other patient's row;
 * 2. otherwise every registered patient, erased ones included, so that the gate answers as it
 *    does for every patient route (403 and a denied audit entry for a patient the caller may not
 *    read, 410 for an erased one) and only an id naming nobody is 404. These are held in memory
 *    and read again only when a patient has been registered since, not on every unknown id
 *    (before, each one read the whole table).
 *
 * The table's row count tells whether patients were registered: rows are never deleted
 * (erasure keeps the row, without its identity), so a count that has not moved means no new id.
 */
export class ObservationPatients {
  private byHash = new Map<string, string>();
  /** Row count of the patients table when byHash was built. */
  private builtFromRows = -1;
  private rebuilding: Promise<void> | undefined;

  constructor(private readonly db: Kysely<Schema>) {}

  async patientOf(hash: string, readable: () => Promise<PatientScope>): Promise<string | undefined> {
    const known = this.byHash.get(hash);
    if (known !== undefined) return known;
    const scope = await readable();
    // An integration's scope is everybody but a few: it has no short list to hash.
    for (const id of scope.only ?? []) {
      if (patientHash(id) === hash) {
        this.byHash.set(hash, id);
        return id;
      }
    }
    if ((await this.rowCount()) !== this.builtFromRows) await this.rebuild();
    return this.byHash.get(hash);
  }

  private async rowCount(): Promise<number> {
    const row = await this.db
      .selectFrom('patients')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** One rebuild at a time: requests missing together wait for the same read. */
  private rebuild(): Promise<void> {
    this.rebuilding ??= (async () => {
      try {
        // In id order, as before: of two ids whose hashes collide, the later one is found.
        const rows = await this.db.selectFrom('patients').select('id').orderBy('id').execute();
        this.byHash = new Map(rows.map((r) => [patientHash(r.id), r.id]));
        this.builtFromRows = rows.length;
      } finally {
        this.rebuilding = undefined;
      }
    })();
    return this.rebuilding;
  }
}
