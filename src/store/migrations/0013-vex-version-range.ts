import type { Kysely } from 'kysely';

/**
 * A vendor VEX statement (CSAF product_status) may name its product by a version range
 * (product_version_range, e.g. "fixed: vers:generic/>=2.4.1"). Earlier releases stored such a
 * statement with no firmware, which reads as "every version", so a range saying "fixed from
 * 2.4.1" also hid the finding on a vulnerable 2.3.0. The range now has its own column.
 *
 * The rows earlier releases wrote cannot be told apart from statements about a product without
 * a version, so every CSAF statement without model and firmware is removed and the CSAF files'
 * import records with them: the next `vigil posture import` (or API upload) reads the files
 * again and writes correct statements. Until then those findings show rather than stay hidden.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('posture_vex').addColumn('vers', 'text').execute();
  await db
    .deleteFrom('posture_vex')
    .where('source', 'like', 'csaf:%')
    .where('model', 'is', null)
    .where('firmware', 'is', null)
    .execute();
  await db.deleteFrom('posture_import_files').where('kind', '=', 'csaf').execute();
}
