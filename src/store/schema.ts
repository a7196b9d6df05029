import type { Generated } from 'kysely';

/** Table shapes as Kysely sees them. Times are epoch milliseconds. */
export interface Schema {
  settings: { key: string; value: string };
  sealed_secrets: { name: string; master_key_id: string; sealed: Buffer; created_at: number };
  data_keys: {
    id: string;
    purpose: string;
    owner_id: string;
    master_key_id: string;
    wrapped: Buffer;
    created_at: number;
    destroyed_at: number | null;
  };
  patients: { id: string; sealed_identity: Buffer; created_at: number; erased_at: number | null };
  devices: {
    id: string;
    model: string;
    serial: string;
    status: string;
    created_at: number;
    enrolled_at: number | null;
    last_seq: number | null;
    last_hash: string | null;
    last_seen_ms: number | null;
    firmware: string | null;
    battery: number | null;
    quarantined_at: number | null;
    quarantine_reason: string | null;
  };
  device_assignments: {
    id: Generated<number>;
    device_id: string;
    patient_id: string;
    from_ms: number;
    to_ms: number | null;
  };
  device_certificates: {
    serial: string;
    device_id: string;
    fingerprint: string;
    not_before: number;
    not_after: number;
    issued_at: number;
    revoked_at: number | null;
    revoke_reason: string | null;
  };
  enrollment_tokens: {
    token_hash: string;
    device_id: string;
    created_at: number;
    expires_at: number;
    used_at: number | null;
  };
  api_tokens: {
    id: string;
    name: string;
    role: string;
    secret_hash: string;
    created_at: number;
    expires_at: number;
    revoked_at: number | null;
  };
  reading_staging: {
    device_id: string;
    seq: number;
    hash: string;
    patient_id: string;
    received_ms: number;
    min_ts: number;
    max_ts: number;
    count: number;
    sealed: Buffer;
  };
  reading_chunks: {
    id: string;
    patient_id: string;
    device_id: string;
    start_ms: number;
    end_ms: number;
    count: number;
    codes: string;
    sealed: Buffer;
  };
  security_events: {
    id: Generated<number>;
    ts: number;
    device_id: string | null;
    code: string;
    severity: string;
    detail: string;
    remote_address: string | null;
  };
  audit_log: {
    seq: number;
    ts: number;
    actor: string;
    action: string;
    patient_id: string | null;
    resource: string;
    purpose: string | null;
    outcome: string;
    source: string | null;
    prev_hash: string;
    hash: string;
  };
}
