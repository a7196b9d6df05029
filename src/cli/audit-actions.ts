/** What `vigil audit verify` does, once audit-commands.ts has parsed its flags. */
import { readAnchor } from '../audit/audit-anchor.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { AuditSigner } from '../audit/audit-signer.ts';
import type { CommonFlags } from './context.ts';
import { openLocal } from './open-local.ts';
import { emit } from './output.ts';

export async function auditVerify(o: CommonFlags): Promise<void> {
  const { store, keys, config } = await openLocal(o);
  try {
    const signer = await AuditSigner.load(store.db, keys);
    const log = new AuditLog(store.db, store.sqlite);
    const r = await log.verify({ check: signer.verifier().check, anchor: readAnchor(config.dataDir) });
    const cp = r.lastCheckpoint;
    emit(
      o,
      {
        entries: r.entries,
        intact: r.intact,
        brokenAt: r.brokenAt ?? null,
        problems: r.problems,
        checkpoints: r.checkpoints,
        unsignedTail: r.unsignedTail,
      },
      r.intact
        ? [
            `audit trail intact: ${r.entries} entries verified`,
            cp
              ? `  ${r.checkpoints} signed checkpoints; the newest (${new Date(cp.ts).toISOString()}) covers entries 1-${cp.auditSeq}; ${r.unsignedTail} newer entries are chained but not yet signed`
              : '  no signed checkpoint yet (the server signs one every minute)',
          ]
        : [
            `audit trail BROKEN at entry ${r.brokenAt}`,
            ...r.problems.map((p) => `  ${p.kind}: ${p.detail}`),
            '  keep this data dir as evidence; compare with your latest backup and the syslog copy',
          ],
    );
    if (!r.intact) process.exitCode = 3;
  } finally {
    await store.close();
  }
}
