import { Command } from 'commander';
import { VERSION } from '../version.ts';
import { registerDeviceCommands, registerPatientCommands, registerTokenCommands } from './admin-commands.ts';
import { registerAuditCommands } from './audit-commands.ts';
import { registerBackupCommands } from './backup-commands.ts';
import { registerKeysCommands } from './keys-commands.ts';
import { registerPostureCommands } from './posture-commands.ts';
import { registerRunCommands } from './run-commands.ts';
import { registerUserCommands } from './user-commands.ts';

/**
 * The `vigil` program: every command with its flags, their parsers and help, and no command's
 * work. Each action imports its *-actions.ts module when it runs, so --help and a refused flag
 * answer without loading the store, the crypto or the server (lazy-load.test.ts keeps it so).
 */
export function buildProgram(): Command {
  const program = new Command('vigil')
    .description('Vigil: security-first platform for the Internet of Medical Things')
    .version(VERSION)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      // Commander's own errors become the one clear line on stderr the contract promises: its
      // "(Did you mean …?)" and any line break inside a quoted flag value join that line.
      outputError: (text, write) =>
        write(
          `vigil: ${text
            .replace(/^error: /, '')
            .trim()
            .replace(/\s*[\r\n]+\s*/g, ' ')}\n`,
        ),
    });

  registerRunCommands(program);
  registerTokenCommands(program);
  registerPatientCommands(program);
  registerDeviceCommands(program);
  registerPostureCommands(program);
  registerBackupCommands(program);
  registerAuditCommands(program);
  registerKeysCommands(program);
  registerUserCommands(program);
  overrideExits(program);
  return program;
}

/** Every level of subcommand must throw instead of exiting, so errors keep to one line. */
function overrideExits(cmd: Command): void {
  for (const sub of cmd.commands) {
    sub.exitOverride();
    overrideExits(sub);
  }
}
