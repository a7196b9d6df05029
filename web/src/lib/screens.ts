import type { Route } from './router.ts';

export interface NavItem {
  path: string;
  label: string;
  screen: Route['screen'];
}

const PATIENTS: NavItem = { path: '/patients', label: 'Patients', screen: 'patients' };
const ALERTS: NavItem = { path: '/alerts', label: 'Alerts', screen: 'alerts' };
const FLEET: NavItem = { path: '/fleet', label: 'Fleet', screen: 'fleet' };
const SECURITY: NavItem = { path: '/security', label: 'Security events', screen: 'security' };
const POSTURE: NavItem = { path: '/posture', label: 'Posture', screen: 'posture' };
const USERS: NavItem = { path: '/users', label: 'Users', screen: 'users' };
const CARE_TEAMS: NavItem = { path: '/care-teams', label: 'Care teams', screen: 'care-teams' };
const CONSENT: NavItem = { path: '/consent', label: 'Consent', screen: 'consent' };
const ENROL: NavItem = { path: '/enrol-device', label: 'Enrol device', screen: 'enrol-device' };
const AUDIT: NavItem = { path: '/audit', label: 'Audit log', screen: 'audit' };
const WEBHOOKS: NavItem = { path: '/webhooks', label: 'Webhooks', screen: 'webhooks' };
/** Everyone who signs in manages their own passkeys, recovery codes and password there. */
const ACCOUNT: NavItem = { path: '/account', label: 'Account', screen: 'account' };

/**
 * Which screens each role is offered. The server decides what each request may do; this only
 * keeps the menu to what would not be refused (mirrors src/access/roles.ts).
 */
export const SCREENS_BY_ROLE: Readonly<Record<string, readonly NavItem[]>> = {
  clinician: [PATIENTS, ALERTS, FLEET],
  // users:read and audit:read, without users:write: the Users screen is read-only for them.
  // webhooks:read without webhooks:write: the Webhooks screen is read-only for them too.
  security: [FLEET, POSTURE, SECURITY, AUDIT, USERS, WEBHOOKS],
  admin: [FLEET, POSTURE, ENROL, USERS, CARE_TEAMS, CONSENT, SECURITY, WEBHOOKS],
  auditor: [AUDIT, SECURITY, CONSENT],
};

export function screensFor(role: string): readonly NavItem[] {
  return [...(SCREENS_BY_ROLE[role] ?? []), ACCOUNT];
}

/** Roles that may quarantine and release devices (devices:quarantine). */
export function canQuarantine(role: string): boolean {
  return role === 'security' || role === 'admin';
}

/** Roles that administer users, care teams, consent records and device credentials (users:write, careteams:write, consents:write, devices:write). */
export function isAdministrator(role: string): boolean {
  return role === 'admin';
}

/** The device page (details, quarantine, credentials) is for those who look after the fleet. */
export function canOpenDevicePage(role: string): boolean {
  return role === 'security' || role === 'admin';
}

/** Roles that read fleet posture: risk, findings, end of support (posture:read). */
export function canReadPosture(role: string): boolean {
  return role === 'security' || role === 'admin';
}

/** Roles that subscribe, remove and retry webhooks (webhooks:write); security officers only read. */
export function canWriteWebhooks(role: string): boolean {
  return role === 'admin';
}
