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

/**
 * Which screens each role is offered. The server decides what each request may do; this only
 * keeps the menu to what would not be refused (mirrors src/access/roles.ts).
 */
export const SCREENS_BY_ROLE: Readonly<Record<string, readonly NavItem[]>> = {
  clinician: [PATIENTS, ALERTS, FLEET],
  security: [FLEET, SECURITY],
  admin: [FLEET, SECURITY],
  auditor: [SECURITY],
};

export function screensFor(role: string): readonly NavItem[] {
  return SCREENS_BY_ROLE[role] ?? [];
}

/** Roles that may quarantine and release devices (devices:quarantine). */
export function canQuarantine(role: string): boolean {
  return role === 'security' || role === 'admin';
}
