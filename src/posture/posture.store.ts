/**
 * SQL for the posture domain (SQLite and PostgreSQL through Kysely). Advisories are stored as
 * normalised JSON with a content hash: re-importing an unchanged advisory writes nothing.
 */
import { createHash } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { certNotAfter } from '../devices/devices.store.ts';
import type { Schema } from '../store/schema.ts';
import type { ParsedSbom } from './sbom.ts';
import type {
  Advisory,
  Component,
  ConnectionSecurity,
  DeviceModel,
  EpssScore,
  KevEntry,
  NetworkZone,
  VexStatement,
} from './types.ts';

export type WriteOutcome = 'inserted' | 'updated' | 'unchanged';
export interface WriteCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

export const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

export interface DeviceProfile {
  deviceId: string;
  zone: NetworkZone;
  connection: ConnectionSecurity;
  internetReachable: boolean;
}

export interface InventoryRow {
  id: string;
  model: string;
  serial: string;
  status: string;
  firmware: string | null;
  patientAssigned: boolean;
  lastSeenMs: number | null;
  certificateNotAfter: number | null;
  zone: NetworkZone;
  connection: ConnectionSecurity;
  internetReachable: boolean;
}

type AdvisoryRow = Schema['posture_advisories'];

/** Postgres caps a statement at 65,535 parameters; 500 rows x 11 columns stays far below. */
const BATCH_ROWS = 500;

export class PostureStore {
  /**
   * `sqlite`, when given, is the same database's raw handle: advisory import (500,000 rows)
   * then runs on prepared statements instead of building SQL text per batch.
   */
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly sqlite?: BetterSqlite3.Database,
  ) {}

  async upsertModel(m: DeviceModel, nowMs = Date.now()): Promise<WriteOutcome> {
    const row = {
      model: m.model,
      manufacturer: m.manufacturer,
      device_class: m.deviceClass,
      criticality: m.criticality,
      end_of_support_ms: m.endOfSupportMs,
      encryption: m.encryption,
      authentication: m.authentication,
      patchability: m.patchability,
    };
    const existing = await this.db
      .selectFrom('posture_models')
      .selectAll()
      .where('model', '=', m.model)
      .executeTakeFirst();
    if (!existing) {
      await this.db
        .insertInto('posture_models')
        .values({ ...row, updated_at: nowMs })
        .execute();
      return 'inserted';
    }
    const same = (Object.keys(row) as Array<keyof typeof row>).every((k) =>
      k === 'end_of_support_ms'
        ? (existing[k] === null ? null : Number(existing[k])) === row[k]
        : existing[k] === row[k],
    );
    if (same) return 'unchanged';
    await this.db
      .updateTable('posture_models')
      .set({ ...row, updated_at: nowMs })
      .where('model', '=', m.model)
      .execute();
    return 'updated';
  }

  async models(): Promise<DeviceModel[]> {
    const rows = await this.db.selectFrom('posture_models').selectAll().orderBy('model').execute();
    return rows.map((r) => ({
      model: r.model,
      manufacturer: r.manufacturer,
      deviceClass: r.device_class,
      criticality: r.criticality as DeviceModel['criticality'],
      endOfSupportMs: r.end_of_support_ms === null ? null : Number(r.end_of_support_ms),
      encryption: r.encryption as DeviceModel['encryption'],
      authentication: r.authentication as DeviceModel['authentication'],
      patchability: r.patchability as DeviceModel['patchability'],
    }));
  }

  async setProfile(p: DeviceProfile, nowMs = Date.now()): Promise<void> {
    const values = {
      network_zone: p.zone,
      connection_security: p.connection,
      internet_reachable: p.internetReachable ? 1 : 0,
      updated_at: nowMs,
    };
    await this.db
      .insertInto('posture_device_profiles')
      .values({ device_id: p.deviceId, ...values })
      .onConflict((oc) => oc.column('device_id').doUpdateSet(values))
      .execute();
  }

  /** Devices as the posture view sees them: registry, exposure profile and certificate. */
  async inventory(): Promise<InventoryRow[]> {
    const rows = await this.db
      .selectFrom('devices as d')
      .leftJoin('posture_device_profiles as p', 'p.device_id', 'd.id')
      .select(['d.id', 'd.model', 'd.serial', 'd.status', 'd.firmware', 'd.last_seen_ms'])
      .select(['p.network_zone', 'p.connection_security', 'p.internet_reachable'])
      .select((eb) =>
        eb
          .selectFrom('device_assignments as a')
          .select((e) => e.fn.count<number>('a.id').as('n'))
          .whereRef('a.device_id', '=', 'd.id')
          .where('a.to_ms', 'is', null)
          .as('assigned'),
      )
      .select(certNotAfter)
      .orderBy('d.id')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      model: r.model,
      serial: r.serial,
      status: r.status,
      firmware: r.firmware,
      patientAssigned: Number(r.assigned ?? 0) > 0,
      lastSeenMs: r.last_seen_ms === null ? null : Number(r.last_seen_ms),
      certificateNotAfter:
        r.cert_not_after === null || r.cert_not_after === undefined ? null : Number(r.cert_not_after),
      zone: (r.network_zone ?? 'unknown') as NetworkZone,
      // A device enrolled through Vigil's CA uses mTLS unless its profile says it is a legacy device.
      connection: (r.connection_security ?? 'mtls') as ConnectionSecurity,
      internetReachable: r.internet_reachable === 1,
    }));
  }

  async putSbom(
    model: string,
    firmware: string,
    sbom: ParsedSbom,
    contentHash: string,
    nowMs = Date.now(),
  ): Promise<WriteOutcome> {
    const existing = await this.db
      .selectFrom('posture_sboms')
      .select('content_hash')
      .where('model', '=', model)
      .where('firmware', '=', firmware)
      .executeTakeFirst();
    if (existing?.content_hash === contentHash) return 'unchanged';
    const row = {
      format: sbom.format,
      spec_version: sbom.specVersion,
      content_hash: contentHash,
      component_count: sbom.components.length,
      components: JSON.stringify(sbom.components),
      imported_at: nowMs,
    };
    if (existing) {
      await this.db
        .updateTable('posture_sboms')
        .set(row)
        .where('model', '=', model)
        .where('firmware', '=', firmware)
        .execute();
      return 'updated';
    }
    await this.db
      .insertInto('posture_sboms')
      .values({ model, firmware, ...row })
      .execute();
    return 'inserted';
  }

  async sboms(): Promise<
    Array<{ model: string; firmware: string; format: string; components: Component[] }>
  > {
    const rows = await this.db
      .selectFrom('posture_sboms')
      .select(['model', 'firmware', 'format', 'components'])
      .execute();
    return rows.map((r) => ({
      model: r.model,
      firmware: r.firmware,
      format: r.format,
      components: JSON.parse(r.components) as Component[],
    }));
  }

  /** Inserts new and changed advisories in one transaction; unchanged ones are left alone. */
  async putAdvisories(list: Advisory[], nowMs = Date.now()): Promise<WriteCounts> {
    const counts: WriteCounts = { inserted: 0, updated: 0, unchanged: 0 };
    const rows = list.map((a) => {
      const body = {
        source: a.source,
        aliases: JSON.stringify(a.aliases),
        summary: a.summary,
        cvss_vector: a.cvssVector,
        severity_score: a.severityScore,
        affected: JSON.stringify(a.affected),
        remediation: a.remediation,
        modified_ms: a.modifiedMs,
      };
      return { id: a.id, ...body, content_hash: sha256(JSON.stringify(body)), imported_at: nowMs };
    });
    if (this.sqlite) return this.putAdvisoryRowsSqlite(this.sqlite, rows);
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < rows.length; i += BATCH_ROWS) {
        const chunk = rows.slice(i, i + BATCH_ROWS);
        const known = new Map(
          (
            await tx
              .selectFrom('posture_advisories')
              .select(['id', 'content_hash'])
              .where(
                'id',
                'in',
                chunk.map((r) => r.id),
              )
              .execute()
          ).map((r) => [r.id, r.content_hash]),
        );
        const fresh = new Map<string, (typeof rows)[number]>();
        for (const r of chunk) {
          const hash = known.get(r.id);
          if (hash === r.content_hash) counts.unchanged++;
          else if (hash === undefined) fresh.set(r.id, r);
          else {
            await tx.updateTable('posture_advisories').set(r).where('id', '=', r.id).execute();
            known.set(r.id, r.content_hash);
            counts.updated++;
          }
        }
        if (fresh.size > 0)
          await tx
            .insertInto('posture_advisories')
            .values([...fresh.values()])
            .execute();
        counts.inserted += fresh.size;
      }
    });
    return counts;
  }

  private advisoryStatements?: {
    hash: BetterSqlite3.Statement<[string], string | undefined>;
    insert: BetterSqlite3.Statement<[AdvisoryRow]>;
    update: BetterSqlite3.Statement<[AdvisoryRow]>;
  };

  private putAdvisoryRowsSqlite(sqlite: BetterSqlite3.Database, rows: AdvisoryRow[]): WriteCounts {
    const columns =
      'source, aliases, summary, cvss_vector, severity_score, affected, remediation, modified_ms, content_hash, imported_at';
    const named = columns
      .split(', ')
      .map((c) => `@${c}`)
      .join(', ');
    this.advisoryStatements ??= {
      hash: sqlite
        .prepare<[string], string | undefined>('SELECT content_hash FROM posture_advisories WHERE id = ?')
        .pluck(),
      insert: sqlite.prepare<[AdvisoryRow]>(
        `INSERT INTO posture_advisories (id, ${columns}) VALUES (@id, ${named})`,
      ),
      update: sqlite.prepare<[AdvisoryRow]>(
        `UPDATE posture_advisories SET ${columns
          .split(', ')
          .map((c) => `${c} = @${c}`)
          .join(', ')} WHERE id = @id`,
      ),
    };
    const st = this.advisoryStatements;
    const counts: WriteCounts = { inserted: 0, updated: 0, unchanged: 0 };
    sqlite.transaction(() => {
      for (const r of rows) {
        const hash = st.hash.get(r.id);
        if (hash === r.content_hash) counts.unchanged++;
        else if (hash === undefined) {
          st.insert.run(r);
          counts.inserted++;
        } else {
          st.update.run(r);
          counts.updated++;
        }
      }
    })();
    return counts;
  }

  async advisories(): Promise<Advisory[]> {
    const rows = await this.db.selectFrom('posture_advisories').selectAll().execute();
    return rows.map((r) => ({
      id: r.id,
      source: r.source as Advisory['source'],
      aliases: JSON.parse(r.aliases) as string[],
      summary: r.summary,
      cvssVector: r.cvss_vector,
      severityScore: r.severity_score,
      affected: JSON.parse(r.affected) as Advisory['affected'],
      remediation: r.remediation,
      modifiedMs: r.modified_ms === null ? null : Number(r.modified_ms),
    }));
  }

  async putKev(list: KevEntry[]): Promise<WriteCounts> {
    const counts: WriteCounts = { inserted: 0, updated: 0, unchanged: 0 };
    await this.db.transaction().execute(async (tx) => {
      for (const k of list) {
        const row = {
          vendor: k.vendor,
          product: k.product,
          name: k.name,
          date_added: k.dateAdded,
          due_date: k.dueDate,
          known_ransomware: k.knownRansomware ? 1 : 0,
        };
        const hash = sha256(JSON.stringify(row));
        const old = await tx
          .selectFrom('posture_kev')
          .select('content_hash')
          .where('cve', '=', k.cve)
          .executeTakeFirst();
        if (old?.content_hash === hash) counts.unchanged++;
        else if (old) {
          await tx
            .updateTable('posture_kev')
            .set({ ...row, content_hash: hash })
            .where('cve', '=', k.cve)
            .execute();
          counts.updated++;
        } else {
          await tx
            .insertInto('posture_kev')
            .values({ cve: k.cve, ...row, content_hash: hash })
            .execute();
          counts.inserted++;
        }
      }
    });
    return counts;
  }

  async kev(): Promise<KevEntry[]> {
    const rows = await this.db.selectFrom('posture_kev').selectAll().execute();
    return rows.map((r) => ({
      cve: r.cve,
      vendor: r.vendor,
      product: r.product,
      name: r.name,
      dateAdded: r.date_added,
      dueDate: r.due_date,
      knownRansomware: r.known_ransomware === 1,
    }));
  }

  async putEpss(list: EpssScore[]): Promise<WriteCounts> {
    const counts: WriteCounts = { inserted: 0, updated: 0, unchanged: 0 };
    await this.db.transaction().execute(async (tx) => {
      for (const e of list) {
        const old = await tx
          .selectFrom('posture_epss')
          .selectAll()
          .where('cve', '=', e.cve)
          .executeTakeFirst();
        if (old && old.probability === e.probability && old.percentile === e.percentile) counts.unchanged++;
        else if (old) {
          await tx
            .updateTable('posture_epss')
            .set({ probability: e.probability, percentile: e.percentile })
            .where('cve', '=', e.cve)
            .execute();
          counts.updated++;
        } else {
          await tx
            .insertInto('posture_epss')
            .values({ cve: e.cve, probability: e.probability, percentile: e.percentile })
            .execute();
          counts.inserted++;
        }
      }
    });
    return counts;
  }

  async epss(): Promise<EpssScore[]> {
    const rows = await this.db.selectFrom('posture_epss').selectAll().execute();
    return rows.map((r) => ({
      cve: r.cve,
      probability: Number(r.probability),
      percentile: Number(r.percentile),
    }));
  }

  /** A VEX statement's identity is what it is about; a newer statement about the same thing replaces it. */
  async putVex(list: VexStatement[]): Promise<WriteCounts> {
    const counts: WriteCounts = { inserted: 0, updated: 0, unchanged: 0 };
    await this.db.transaction().execute(async (tx) => {
      for (const v of list) {
        const about = [v.source, v.vulnerability, v.model, v.firmware, v.componentKey];
        // Two ranges of one product ("fixed >=2.4.1", "not affected <1.0") are two statements.
        const id = sha256(JSON.stringify(v.vers === undefined ? about : [...about, v.vers]));
        const row = {
          vulnerability: v.vulnerability,
          status: v.status,
          model: v.model,
          firmware: v.firmware,
          component_key: v.componentKey,
          justification: v.justification,
          source: v.source,
          vers: v.vers ?? null,
        };
        const old = await tx
          .selectFrom('posture_vex')
          .select(['status', 'justification'])
          .where('id', '=', id)
          .executeTakeFirst();
        if (old && old.status === v.status && old.justification === v.justification) counts.unchanged++;
        else if (old) {
          await tx.updateTable('posture_vex').set(row).where('id', '=', id).execute();
          counts.updated++;
        } else {
          await tx
            .insertInto('posture_vex')
            .values({ id, ...row })
            .execute();
          counts.inserted++;
        }
      }
    });
    return counts;
  }

  async vex(): Promise<VexStatement[]> {
    const rows = await this.db.selectFrom('posture_vex').selectAll().execute();
    return rows.map((r) => ({
      vulnerability: r.vulnerability,
      status: r.status as VexStatement['status'],
      model: r.model,
      firmware: r.firmware,
      componentKey: r.component_key,
      ...(r.vers === null ? {} : { vers: r.vers }),
      justification: r.justification,
      source: r.source,
    }));
  }

  async importState(contentHash: string): Promise<{ nextIndex: number; completed: boolean } | undefined> {
    const r = await this.db
      .selectFrom('posture_import_files')
      .selectAll()
      .where('content_hash', '=', contentHash)
      .executeTakeFirst();
    return r ? { nextIndex: r.next_index, completed: r.completed_at !== null } : undefined;
  }

  async recordImport(
    s: {
      contentHash: string;
      path: string;
      kind: string;
      nextIndex: number;
      total: number;
      completed: boolean;
    },
    nowMs = Date.now(),
  ): Promise<void> {
    const values = {
      path: s.path,
      kind: s.kind,
      next_index: s.nextIndex,
      total: s.total,
      completed_at: s.completed ? nowMs : null,
      updated_at: nowMs,
    };
    await this.db
      .insertInto('posture_import_files')
      .values({ content_hash: s.contentHash, ...values })
      .onConflict((oc) => oc.column('content_hash').doUpdateSet(values))
      .execute();
  }
}
