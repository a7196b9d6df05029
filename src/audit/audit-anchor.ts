import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isVigilError, VigilError } from '../errors/catalogue.ts';
import { readBoundedText } from '../store/bounded-file.ts';
import { replaceFile } from '../store/replace-file.ts';
import type { AuditLog } from './audit-log.ts';
import type { AuditSigner } from './audit-signer.ts';
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

/** writeAnchor writes about 300 bytes; anything much larger was not written by it. */
export const MAX_ANCHOR_FILE_BYTES = 64 * 1024;

export function readAnchor(dataDir: string): AuditAnchor | undefined {
  const file = anchorPath(dataDir);
  if (!existsSync(file)) return undefined;
  const text = readBoundedText(file, MAX_ANCHOR_FILE_BYTES, 'audit anchor', {
    code: 'VIGIL_ERR_CONFIG_INVALID',
    whenTooLarge: 'it was damaged or replaced; move it aside after investigating',
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
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

/**
 * Signs the audit head and moves the anchor to the new checkpoint, but only over a chain that
 * still holds the anchored checkpoint: otherwise the file would be overwritten with a checkpoint
 * re-signed over a cut trail, destroying the one piece of evidence of the cut. A refusal keeps
 * the old anchor (so `vigil audit verify` goes on reporting it) and is reported once per cause
 * through `onRefused`; signing resumes when an operator has restored the trail, or has moved
 * the anchor file aside after investigating.
 */
export class AuditAnchorKeeper {
  private reported: string | undefined;

  constructor(
    private readonly deps: {
      audit: AuditLog;
      signer: AuditSigner;
      dataDir: string;
      onRefused: (detail: string) => void;
    },
  ) {}

  async signHead(nowMs = Date.now()): Promise<CheckpointRow | undefined> {
    const { audit, signer, dataDir } = this.deps;
    let anchor: AuditAnchor | undefined;
    try {
      anchor = readAnchor(dataDir);
    } catch (e) {
      // A damaged anchor cannot vouch for anything; replacing it would hide whatever damaged it.
      if (!isVigilError(e)) throw e;
      this.refuse(`${e.detail}; refusing to sign audit checkpoints until it is restored or moved aside`);
      return undefined;
    }
    const outcome = await audit.checkpointAfter(signer, anchor, nowMs);
    if (outcome.kind === 'refused') {
      this.refuse(
        `${outcome.detail}; refusing to sign audit checkpoints, ${anchorPath(dataDir)} is kept (run "vigil audit verify")`,
      );
      return undefined;
    }
    this.reported = undefined;
    if (outcome.kind === 'unchanged') return undefined;
    writeAnchor(dataDir, outcome.row);
    return outcome.row;
  }

  private refuse(detail: string): void {
    if (this.reported === detail) return;
    this.reported = detail;
    this.deps.onRefused(detail);
  }
}
