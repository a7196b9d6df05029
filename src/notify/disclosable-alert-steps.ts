import type { Logger } from 'pino';
import type { AlertStore, AlertWithoutValue, LoggedAlertEvent } from '../clinical/alerts/alerts.store.ts';

/** An alert step that may leave the system, with its alert as the relay finds it now. */
export interface DisclosableStep {
  event: LoggedAlertEvent;
  alert: AlertWithoutValue;
}

export interface DisclosureDeps {
  alerts: Pick<AlertStore, 'withoutValues'>;
  /** Whether the patient's consent lets their alerts leave the system (see NotifyDeps). */
  mayDisclose(patientId: string): Promise<boolean>;
  log: Logger;
}

/**
 * The steps among `events` whose alert is still readable and whose patient's consent lets it
 * leave the system, judged when a relay hands them on (which is when they leave). Consent is
 * asked once per patient; a refusal is logged as `notSent` (what did not happen, e.g. "alert
 * not e-mailed").
 */
export async function disclosableSteps(
  deps: DisclosureDeps,
  events: readonly LoggedAlertEvent[],
  notSent: string,
): Promise<DisclosableStep[]> {
  const alerts = await deps.alerts.withoutValues([...new Set(events.map((e) => e.alertId))]);
  const consent = new Map<string, boolean>();
  const out: DisclosableStep[] = [];
  for (const event of events) {
    // Gone, or its patient erased: nothing about it may leave any more.
    const alert = alerts.get(event.alertId);
    if (!alert) continue;
    let mayDisclose = consent.get(alert.patientId);
    if (mayDisclose === undefined) {
      mayDisclose = await deps.mayDisclose(alert.patientId);
      consent.set(alert.patientId, mayDisclose);
    }
    if (!mayDisclose) {
      deps.log.info(
        { alert: alert.id, action: event.action },
        `${notSent}: consent refuses disclosure of alerts`,
      );
      continue;
    }
    out.push({ event, alert });
  }
  return out;
}
