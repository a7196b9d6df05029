import type { Command } from 'commander';
import { AuditLog } from '../audit/audit-log.ts';
import { rotateMasterKey } from '../crypto/key-rotation.ts';
import { type CommonFlags, intOption, openLocal, withCommon } from './context.ts';
import { emit } from './output.ts';

const actor = () => `cli:${process.env.USER ?? 'operator'}`;

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('the master key and the data keys it wraps');
  withCommon(
    keys
      .command('rotate')
      .description('re-wrap every data key under a new master key (safe while the server runs; resumable)'),
  )
    .option(
      '--wait <seconds>',
      'how long to wait for a running server to switch keys',
      intOption('--wait', 1, 3600),
      30,
    )
    .action(async (o: CommonFlags & { wait: number }) => {
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
    });
}
