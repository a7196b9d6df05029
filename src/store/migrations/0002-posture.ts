import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrate.ts';

/**
 * Fleet security posture (issue 5): device models with MDS2-style capabilities, per-device
 * exposure, SBOMs per model and firmware, advisories, KEV, EPSS, VEX statements, and the
 * bookkeeping that makes advisory import idempotent and resumable.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>, { bigint }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('posture_models')
    .addColumn('model', 'text', (c) => c.primaryKey())
    .addColumn('manufacturer', 'text', (c) => c.notNull())
    .addColumn('device_class', 'text', (c) => c.notNull())
    .addColumn('criticality', 'text', (c) => c.notNull())
    .addColumn('end_of_support_ms', bigint)
    .addColumn('encryption', 'text', (c) => c.notNull())
    .addColumn('authentication', 'text', (c) => c.notNull())
    .addColumn('patchability', 'text', (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('posture_device_profiles')
    .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id'))
    .addColumn('network_zone', 'text', (c) => c.notNull())
    .addColumn('connection_security', 'text', (c) => c.notNull())
    .addColumn('internet_reachable', 'integer', (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('posture_sboms')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('firmware', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('spec_version', 'text', (c) => c.notNull())
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('component_count', 'integer', (c) => c.notNull())
    .addColumn('components', 'text', (c) => c.notNull())
    .addColumn('imported_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('posture_sboms_pk', ['model', 'firmware'])
    .execute();
  await db.schema
    .createTable('posture_advisories')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('aliases', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('cvss_vector', 'text')
    .addColumn('severity_score', 'real')
    .addColumn('affected', 'text', (c) => c.notNull())
    .addColumn('remediation', 'text')
    .addColumn('modified_ms', bigint)
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('imported_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('posture_kev')
    .addColumn('cve', 'text', (c) => c.primaryKey())
    .addColumn('vendor', 'text', (c) => c.notNull())
    .addColumn('product', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('date_added', 'text', (c) => c.notNull())
    .addColumn('due_date', 'text')
    .addColumn('known_ransomware', 'integer', (c) => c.notNull())
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('posture_epss')
    .addColumn('cve', 'text', (c) => c.primaryKey())
    .addColumn('probability', 'real', (c) => c.notNull())
    .addColumn('percentile', 'real', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('posture_vex')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('vulnerability', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('model', 'text')
    .addColumn('firmware', 'text')
    .addColumn('component_key', 'text')
    .addColumn('justification', 'text')
    .addColumn('source', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('posture_vex_vulnerability')
    .on('posture_vex')
    .columns(['vulnerability'])
    .execute();
  // One row per imported file (by content hash): where a long import stopped, and whether it finished.
  await db.schema
    .createTable('posture_import_files')
    .addColumn('content_hash', 'text', (c) => c.primaryKey())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('next_index', 'integer', (c) => c.notNull())
    .addColumn('total', 'integer', (c) => c.notNull())
    .addColumn('completed_at', bigint)
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
}
