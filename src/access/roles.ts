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
  'observations:read',
  'security:read',
  'audit:read',
  'metrics:read',
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
    'security:read',
    'metrics:read',
  ]),
  security: new Set(['devices:read', 'devices:quarantine', 'security:read', 'audit:read', 'metrics:read']),
  clinician: new Set(['patients:read', 'observations:read', 'devices:read']),
  auditor: new Set(['audit:read', 'security:read']),
  patient: new Set([]),
  integration: new Set(['patients:read', 'observations:read', 'devices:read']),
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}
