import type { AlertAction } from '../../src/clinical/alerts/alert-engine.ts';
import type { Alert } from '../../src/clinical/alerts/alert-lifecycle.ts';
import type { AlertStore } from '../../src/clinical/alerts/alerts.store.ts';

/** An open urgent low-glucose alert, raised at `atMs`, as the engine makes one. */
export function anAlert(id: string, patientId: string, atMs: number, changes: Partial<Alert> = {}): Alert {
  return {
    id,
    patientId,
    condition: 'glucose-urgent-low',
    deviceId: '',
    urgency: 'urgent',
    state: 'open',
    value: 45,
    openedMs: atMs,
    updatedMs: atMs,
    onsetMs: atMs,
    acknowledgedBy: null,
    acknowledgedMs: null,
    snoozedUntilMs: null,
    resolvedMs: null,
    resolvedBy: null,
    resolution: null,
    escalationLevel: 0,
    assignedTo: null,
    assignedMs: atMs,
    ...changes,
  };
}

/**
 * Writes one alert step as the engine does, row first and then its history event, but tells no
 * listener: what a process that died right after the commit leaves behind.
 */
export async function writeStep(
  store: AlertStore,
  alert: Alert,
  action: AlertAction,
  ts: number,
): Promise<void> {
  if (action === 'raise') await store.insert(alert);
  else await store.update(alert);
  await store.addEvent(alert.id, { ts, actor: 'system:alerts', action, detail: `test ${action}` });
}
