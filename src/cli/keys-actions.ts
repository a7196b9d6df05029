/** What `vigil keys rotate` does, once keys-commands.ts has parsed its flags. */
import { resolve } from 'node:path';
import { AuditLog } from '../audit/audit-log.ts';
import { type RotationResult, rotateMasterKey } from '../crypto/key-rotation.ts';
import { type CommonFlags, cliActor } from './context.ts';
import { openLocal } from './open-local.ts';
import { emit } from './output.ts';

export type KeysRotateFlags = CommonFlags & { wait: number; keepOldKey?: string };

/**
 * A running server re-wraps as soon as it sees the new key file, so this command may find
 * little or nothing left to do: it says who did the rest, not "0 re-wrapped" beside a finished
 * rotation.
 */
function whoRewrapped(r: RotationResult): string[] {
  const lines: string[] = [];
  if (r.underNewKey.dataKeys > r.dataKeys || r.underNewKey.secrets > r.secrets) {
    const others = r.resumed ? 'a running server or the interrupted rotation' : 'the running server';
    lines.push(
      `  this command re-wrapped ${r.dataKeys} data keys and ${r.secrets} secrets; ${others} re-wrapped (or created) the rest`,
    );
  }
  if (r.underOldKey.dataKeys > 0 || r.underOldKey.secrets > 0)
    lines.push(
      `  still under the old key: ${r.underOldKey.dataKeys} data keys and ${r.underOldKey.secrets} secrets`,
    );
  return lines;
}

/** Every backup made before the rotation is sealed under the old key: say where that key is. */
function oldKeyForBackups(r: RotationResult): string {
  const need = `  backups made before now open only with the old key ${r.oldKeyId}`;
  if (r.oldKeyKeptIn !== null)
    return `${need}; a copy is in ${r.oldKeyKeptIn}: keep it apart from the backups`;
  if (r.finished)
    return `${need}, which is destroyed; keep a copy next time with --keep-old-key <file>, and take a new backup now`;
  return `${need}; copy it from the .previous file before finishing, or take a new backup after`;
}

export async function keysRotate(o: KeysRotateFlags): Promise<void> {
  const { store, config } = await openLocal(o);
  try {
    const r = await rotateMasterKey({
      db: store.db,
      masterKeyFile: config.masterKeyFile,
      serverWaitMs: o.wait * 1000,
      ...(o.keepOldKey === undefined ? {} : { keepOldKeyFile: resolve(o.keepOldKey) }),
      onProgress: (done, total) => {
        if (o.json || !process.stderr.isTTY) return;
        process.stderr.write(`\rre-wrapping keys ${done}/${total}`);
        if (done === total) process.stderr.write('\n');
      },
    });
    await new AuditLog(store.db, store.sqlite).append({
      actor: cliActor(),
      action: 'key.rotate',
      resource: `MasterKey/${r.newKeyId}`,
      outcome: r.finished ? 'success' : 'failure',
    });
    emit(
      o,
      { ...r, backupsBeforeNeedKeyId: r.oldKeyId },
      [
        ...r.notices.map((n) => `  note: ${n}`),
        `${r.resumed ? 'resumed rotation' : 'rotated master key'} ${r.oldKeyId} -> ${r.newKeyId}: ${r.underNewKey.dataKeys} data keys and ${r.underNewKey.secrets} secrets are under the new key`,
        ...whoRewrapped(r),
        r.finished
          ? '  the old key was overwritten and removed; back up the new key file now'
          : `  not finished: a running server has not switched yet; the old key stays in ${config.masterKeyFile}.previous. Run "vigil keys rotate" again to finish`,
        oldKeyForBackups(r),
      ],
      r.newKeyId,
    );
    if (!r.finished) process.exitCode = 4;
  } finally {
    await store.close();
  }
}
