import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VigilError } from '../errors/catalogue.ts';
import { replaceFile } from '../store/replace-file.ts';
import type { AuditAnchor, CheckpointRow } from './audit-verify.ts';

/**
 * The newest signed checkpoint, copied to a file beside the database. Deleting checkpoints from
 * the database then leaves the file naming one the database no longer has. (Syslog streaming
 * gives a copy on another machine; this one survives a database-only tamper.)
 */
export function anchorPath(dataDir: string): string {
  return join(dataDir, 'audit-anchor.json');
}

export function writeAnchor(dataDir: string, c: CheckpointRow): void {
  const file = anchorPath(dataDir);
  const body: AuditAnchor & { keyId: string; ts: string } = {
    id: c.id,
    auditSeq: c.audit_seq,
    signature: c.signature,
    keyId: c.key_id,
    ts: new Date(c.ts).toISOString(),
  };
  replaceFile(file, `${JSON.stringify(body, null, 2)}\n`, 0o600);
}

export function readAnchor(dataDir: string): AuditAnchor | undefined {
  const file = anchorPath(dataDir);
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `${file} is not valid JSON; the audit anchor was damaged`,
    );
  }
  const a = parsed as Partial<AuditAnchor>;
  if (
    typeof a !== 'object' ||
    a === null ||
    !Number.isSafeInteger(a.id) ||
    !Number.isSafeInteger(a.auditSeq) ||
    typeof a.signature !== 'string'
  ) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `${file} lacks id, auditSeq or signature; the audit anchor was damaged`,
    );
  }
  return { id: a.id as number, auditSeq: a.auditSeq as number, signature: a.signature };
}
