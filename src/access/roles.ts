/**
 * Roles and what they may do. Every HTTP route names one permission (or says it is public);
 * the server refuses to start a route that names neither, so no route ships without a rule.
 * Care-team and consent checks on patient data come on top of this table (issue #4).
 */
export const PERMISSIONS = [
  'devices:read',
  'devices:write',
  'devices:quarantine',
  'patients:read',
  'patients:write',
  'patients:erase',
  'patients:export',
  'observations:read',
  'security:read',
  'audit:read',
  'metrics:read',
  'users:read',
  'users:write',
  'tokens:read',
  'tokens:write',
  'tokens:revoke',
  'posture:read',
  'posture:write',
  'alerts:read',
  'alerts:write',
  'alertrules:read',
  'alertrules:write',
  'careteams:read',
  'careteams:write',
  'dataquality:read',
  'consents:read',
  'consents:write',
  'breakglass:use',
  'webhooks:read',
  'webhooks:write',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['admin', 'security', 'clinician', 'auditor', 'patient', 'integration'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set([
    'devices:read',
    'devices:write',
    'devices:quarantine',
    'patients:read',
    'patients:write',
    'patients:erase',
    'security:read',
    'metrics:read',
    'users:read',
    'users:write',
    'tokens:read',
    'tokens:write',
    'tokens:revoke',
    'posture:read',
    'posture:write',
    // Administrators set up care teams and tune alert rules; they do not see alerts (patient values).
    'alertrules:read',
    'alertrules:write',
    'careteams:read',
    'careteams:write',
    'dataquality:read',
    // Administrators record what patients consented to; they still cannot read the data.
    'consents:read',
    'consents:write',
    // Outbound integrations (issue 3, item 7): payloads carry ids, never patient values.
    'webhooks:read',
    'webhooks:write',
  ]),
  // Security officers see who holds access and cut off a leaked token; they do not grant access.
  security: new Set([
    'devices:read',
    'devices:quarantine',
    'security:read',
    'audit:read',
    'metrics:read',
    'users:read',
    'tokens:read',
    'tokens:revoke',
    // Fleet posture (issue 5) is the security officer's job: inventory, SBOMs, advisories, risk.
    'posture:read',
    'posture:write',
    // A device sending questionable data may be faulty or tampered with (issue 3, item 6).
    'dataquality:read',
    // Where alert events leave the system is a security question: officers may look.
    'webhooks:read',
  ]),
  // Clinicians see and act on alerts and read (not change) the rules and teams behind them.
  clinician: new Set([
    'patients:read',
    'observations:read',
    'devices:read',
    'alerts:read',
    'alerts:write',
    'alertrules:read',
    'careteams:read',
    'dataquality:read',
    'consents:read',
    // Emergency access outside the care team: time-limited, with a reason, and reported at once.
    'breakglass:use',
    // A whole record for a consented purpose, through the care team (src/access/export-access.ts).
    'patients:export',
  ]),
  // The privacy officer handles a patient's own access and portability requests, and
  // de-identified exports; identified data otherwise stays out of reach.
  auditor: new Set(['audit:read', 'security:read', 'consents:read', 'patients:export']),
  patient: new Set([]),
  integration: new Set(['patients:read', 'observations:read', 'devices:read', 'alerts:read']),
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}
