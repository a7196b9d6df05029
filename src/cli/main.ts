import { Command, CommanderError } from 'commander';
import { registerDeviceCommands, registerPatientCommands, registerTokenCommands } from './admin-commands.ts';
import { registerAuditCommands } from './audit-commands.ts';
import { registerBackupCommands } from './backup-commands.ts';
import { registerKeysCommands } from './keys-commands.ts';
import { failAndExit } from './output.ts';
import { registerPostureCommands } from './posture-commands.ts';
import { registerRunCommands } from './run-commands.ts';
import { registerUserCommands } from './user-commands.ts';

const program = new Command('vigil')
  .description('Vigil: security-first platform for the Internet of Medical Things')
  .version('0.1.0')
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
// Every level of subcommand must throw instead of exiting, so errors keep to one line.
const overrideExits = (cmd: Command): void => {
  for (const sub of cmd.commands) {
    sub.exitOverride();
    overrideExits(sub);
  }
};
overrideExits(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exit(e.exitCode === 0 ? 0 : 2);
  }
  failAndExit(e);
}
