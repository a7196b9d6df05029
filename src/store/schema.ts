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
    /** JSON array of permissions narrowing the role, or null for all of the role's permissions. */
    scopes: string | null;
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
  /** Fingerprints of each device's newest sealed messages (migration 0011). */
  redelivery_window: {
    device_id: string;
    seq: number;
    patient_id: string;
    hash: string;
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
  users: {
    id: string;
    username: string;
    role: string;
    password_hash: string;
    must_change_password: number;
    totp_sealed: Buffer | null;
    totp_pending_sealed: Buffer | null;
    totp_last_step: number | null;
    created_at: number;
    password_changed_at: number;
    disabled_at: number | null;
    /** Where urgent-alert notices go (migration 0008); null: no e-mail. */
    email: string | null;
  };
  sessions: {
    id_hash: string;
    user_id: string;
    stage: string;
    created_at: number;
    last_seen_at: number;
    expires_at: number;
    address: string | null;
    failed_codes: number;
    challenge: string | null;
  };
  login_attempts: { key: string; failures: number; last_failure_at: number; locked_until: number };
  recovery_codes: {
    id: Generated<number>;
    user_id: string;
    code_hash: string;
    created_at: number;
    used_at: number | null;
  };
  webauthn_credentials: {
    id: string;
    user_id: string;
    public_key: Buffer;
    counter: number;
    transports: string | null;
    name: string;
    created_at: number;
    last_used_at: number | null;
  };
  posture_models: {
    model: string;
    manufacturer: string;
    device_class: string;
    criticality: string;
    end_of_support_ms: number | null;
    encryption: string;
    authentication: string;
    patchability: string;
    updated_at: number;
  };
  posture_device_profiles: {
    device_id: string;
    network_zone: string;
    connection_security: string;
    internet_reachable: number;
    updated_at: number;
  };
  posture_sboms: {
    model: string;
    firmware: string;
    format: string;
    spec_version: string;
    content_hash: string;
    component_count: number;
    components: string;
    imported_at: number;
  };
  posture_advisories: {
    id: string;
    source: string;
    aliases: string;
    summary: string;
    cvss_vector: string | null;
    severity_score: number | null;
    affected: string;
    remediation: string | null;
    modified_ms: number | null;
    content_hash: string;
    imported_at: number;
  };
  posture_kev: {
    cve: string;
    vendor: string;
    product: string;
    name: string;
    date_added: string;
    due_date: string | null;
    known_ransomware: number;
    content_hash: string;
  };
  posture_epss: { cve: string; probability: number; percentile: number };
  posture_vex: {
    id: string;
    vulnerability: string;
    status: string;
    model: string | null;
    firmware: string | null;
    component_key: string | null;
    justification: string | null;
    source: string;
    vers: string | null;
  };
  posture_import_files: {
    content_hash: string;
    path: string;
    kind: string;
    next_index: number;
    total: number;
    completed_at: number | null;
    updated_at: number;
  };
  care_teams: { id: string; name: string; created_at: number };
  care_team_members: { team_id: string; member: string; position: number };
  care_team_patients: { team_id: string; patient_id: string; since_ms: number };
  alert_rules: { patient_id: string; overrides: string; updated_at: number; updated_by: string };
  alerts: {
    id: string;
    patient_id: string;
    condition: string;
    device_id: string;
    urgency: string;
    state: string;
    sealed_value: Buffer;
    opened_ms: number;
    updated_ms: number;
    onset_ms: number;
    acknowledged_by: string | null;
    acknowledged_ms: number | null;
    snoozed_until_ms: number | null;
    resolved_ms: number | null;
    resolved_by: string | null;
    resolution: string | null;
    escalation_level: number;
    assigned_to: string | null;
    assigned_ms: number;
  };
  alert_events: {
    id: Generated<number>;
    alert_id: string;
    ts: number;
    actor: string;
    action: string;
    detail: string;
  };
  questionable_readings: {
    patient_id: string;
    code: string;
    ts_ms: number;
    device_id: string;
    issue: string;
  };
  data_quality_notices: {
    id: Generated<number>;
    device_id: string;
    patient_id: string;
    issue: string;
    first_ms: number;
    last_ms: number;
    count: number;
    cleared_ms: number | null;
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
  consents: {
    id: string;
    patient_id: string;
    decision: string;
    purposes: string;
    categories: string;
    period_start: number;
    period_end: number | null;
    status: string;
    recorded_by: string;
    recorded_at: number;
    revoked_at: number | null;
  };
  break_glass: {
    id: string;
    actor: string;
    patient_id: string;
    reason: string;
    started_ms: number;
    expires_ms: number;
  };
  webhooks: {
    id: string;
    url: string;
    /** JSON array of event types. */
    events: string;
    description: string;
    created_by: string;
    created_at: number;
  };
  webhook_deliveries: {
    id: string;
    webhook_id: string;
    event_type: string;
    payload: string;
    state: string;
    attempts: number;
    next_attempt_ms: number;
    last_status: number | null;
    last_error: string | null;
    created_ms: number;
    updated_ms: number;
  };
  /** Where each outbox relay has got to in its log (src/notify/alert-outbox.ts). */
  outbox_cursors: { name: string; last_id: number };
  /** The durable queue of alert e-mails (src/notify/email-notifier.ts). */
  email_deliveries: {
    id: string;
    alert_id: string;
    event_id: number;
    kind: string;
    /** A care-team member (username); the address is looked up at send time. */
    member: string;
    state: string;
    attempts: number;
    next_attempt_ms: number;
    /** The sender holding the row until next_attempt_ms, or null. */
    claimed_by: string | null;
    last_error: string | null;
    created_ms: number;
    updated_ms: number;
  };
  /** Quarantines and releases, written with the status change; the outbox relay tails them. */
  device_events: {
    id: Generated<number>;
    device_id: string;
    type: string;
    actor: string;
    reason: string | null;
    at: number;
  };
  audit_checkpoints: {
    id: number;
    audit_seq: number;
    audit_hash: string;
    ts: number;
    prev_signature: string;
    key_id: string;
    signature: string;
  };
}
