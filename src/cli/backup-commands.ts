import type { Command } from 'commander';
import type { BackupFlags, RestoreFlags } from './backup-actions.ts';
import { withCommon } from './context.ts';

export function registerBackupCommands(program: Command): void {
  withCommon(
    program.command('backup').description('write a consistent snapshot of the database (safe while serving)'),
  )
    .requiredOption('--out <file>', 'backup file to write (the master key is NOT included: keep it apart)')
    .option('--force', 'overwrite --out if it exists')
    .action(async (o: BackupFlags) => (await import('./backup-actions.ts')).backup(o));

  withCommon(
    program.command('restore').description('replace the data dir database with a backup (server stopped)'),
  )
    .argument('<file>', 'backup file made by "vigil backup"')
    .option('--force', 'replace an existing database in the data dir')
    .action(async (file: string, o: RestoreFlags) => (await import('./backup-actions.ts')).restore(file, o));
}
