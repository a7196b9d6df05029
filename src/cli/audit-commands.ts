import type { Command } from 'commander';
import { type CommonFlags, withCommon } from './context.ts';

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit trail');
  withCommon(
    audit
      .command('verify')
      .description('check the hash chain and signed checkpoints of every audit entry (exit 3 if broken)'),
  ).action(async (o: CommonFlags) => (await import('./audit-actions.ts')).auditVerify(o));
}
