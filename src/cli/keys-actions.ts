/** What `vigil keys rotate` does, once keys-commands.ts has parsed its flags. */
import { AuditLog } from '../audit/audit-log.ts';
import { rotateMasterKey } from '../crypto/key-rotation.ts';
import type { CommonFlags } from './context.ts';
import { openLocal } from './open-local.ts';
import { emit } from './output.ts';

export type KeysRotateFlags = CommonFlags & { wait: number };

const actor = () => `cli:${process.env.USER ?? 'operator'}`;

export async function keysRotate(o: KeysRotateFlags): Promise<void> {
  const { store, config } = await openLocal(o);
  try {
    const r = await rotateMasterKey({
      db: store.db,
      masterKeyFile: config.masterKeyFile,
      serverWaitMs: o.wait * 1000,
      onProgress: (done, total) => {
        if (o.json || !process.stderr.isTTY) return;
        process.stderr.write(`\rre-wrapping keys ${done}/${total}`);
        if (done === total) process.stderr.write('\n');
      },
    });
    await new AuditLog(store.db, store.sqlite).append({
      actor: actor(),
      action: 'key.rotate',
      resource: `MasterKey/${r.newKeyId}`,
      outcome: r.finished ? 'success' : 'failure',
    });
    emit(
      o,
      { ...r },
      [
        `${r.resumed ? 'resumed rotation' : 'rotated master key'} ${r.oldKeyId} -> ${r.newKeyId}: ${r.dataKeys} data keys and ${r.secrets} secrets re-wrapped`,
        r.finished
          ? '  the old key was overwritten and removed; back up the new key file now'
          : `  not finished: a running server has not switched yet; the old key stays in ${config.masterKeyFile}.previous. Run "vigil keys rotate" again to finish`,
      ],
      r.newKeyId,
    );
    if (!r.finished) process.exitCode = 4;
  } finally {
    await store.close();
  }
}
