import type { Command } from 'commander';
import { intOption, withCommon } from './context.ts';
import type { KeysRotateFlags } from './keys-actions.ts';

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
    .option(
      '--keep-old-key <file>',
      'write the old master key to <file> (0600) before it is destroyed: backups made before the rotation need it',
    )
    .action(async (o: KeysRotateFlags) => (await import('./keys-actions.ts')).keysRotate(o));
}
