import { useId, useState } from 'react';
import { ApiError } from '../api/client.ts';
import { useAlertRules, useAlerts, usePatients, useSeries } from '../api/queries.ts';
import { AlertItem } from '../components/AlertItem.tsx';
import { Link } from '../components/Link.tsx';
import { QueryNotice } from '../components/QueryNotice.tsx';
import { VitalChart } from '../components/VitalChart.tsx';
import { byUrgency } from '../lib/alerts.ts';
import { thresholdsFor, VITALS } from '../lib/vitals.ts';
import { BreakGlassOffer, EmergencyBanner } from './BreakGlass.tsx';

const RANGES = [
  { label: '1 h', ms: 3_600_000 },
  { label: '6 h', ms: 6 * 3_600_000 },
  { label: '24 h', ms: 86_400_000 },
  { label: '7 days', ms: 7 * 86_400_000 },
] as const;
const ORDER = Object.keys(VITALS);

/** One patient: open alerts, then a chart per vital over the chosen range, refreshed live. */
export function PatientPage(props: { patientId: string }) {
  const [rangeMs, setRangeMs] = useState<number>(RANGES[1].ms);
  const series = useSeries(props.patientId, rangeMs);
  const rules = useAlertRules(props.patientId);
  const alerts = useAlerts(props.patientId);
  const patient = usePatients().data?.patients.find((p) => p.id === props.patientId);
  const rangeName = useId();
  const live = (alerts.data?.alerts ?? []).filter((a) => a.state !== 'resolved').sort(byUrgency);
  const charts = [...(series.data?.series ?? [])].sort(
    (a, b) => ORDER.indexOf(a.code) - ORDER.indexOf(b.code),
  );
  // Not this clinician's patient (no care-team link, or consent): offer the emergency way in.
  if (series.error instanceof ApiError && series.error.code === 'VIGIL_ERR_AUTH_FORBIDDEN')
    return <BreakGlassOffer patientId={props.patientId} detail={series.error.detail} />;
  // The server could not be reached (no problem document): the readings notice says so once.
  const isRulesRefused = rules.error instanceof ApiError;
  return (
    <section aria-labelledby="patient-title">
      <p>
        <Link to="/patients">← All patients</Link>
      </p>
      <h1 id="patient-title">{patient?.name ?? `Patient ${props.patientId}`}</h1>
      {patient?.name && (
        <p className="muted">
          Patient {props.patientId}
          {patient.birthDate && ` · born ${patient.birthDate}`}
        </p>
      )}
      <EmergencyBanner patientId={props.patientId} />
      <QueryNotice
        isPending={false}
        error={alerts.error ?? alerts.failureReason}
        isPolling
        what="this patient’s alerts"
      />
      {live.length > 0 && (
        <ul className="alert-list" aria-label="Open alerts for this patient">
          {live.map((a) => (
            <AlertItem key={a.id} alert={a} showPatient={false} />
          ))}
        </ul>
      )}
      <fieldset className="range">
        <legend>Time range</legend>
        {RANGES.map((r) => (
          <label key={r.ms}>
            <input
              type="radio"
              name={rangeName}
              value={r.ms}
              checked={rangeMs === r.ms}
              onChange={() => setRangeMs(r.ms)}
            />
            {r.label}
          </label>
        ))}
      </fieldset>
      {isRulesRefused && (
        <p className="muted">Alert thresholds are not available, so none are drawn on the charts.</p>
      )}
      {rules.error !== null && !isRulesRefused && series.isSuccess && (
        <p className="muted">Alert thresholds could not be loaded yet, so none are drawn; retrying.</p>
      )}
      <QueryNotice
        isPending={series.isPending}
        error={series.error}
        failureReason={series.failureReason}
        isPolling
        what="readings"
      />
      {series.isSuccess && charts.length === 0 && <p className="notice">No readings in this time range.</p>}
      <div className="charts">
        {charts.map((s) => (
          <VitalChart
            key={s.code}
            series={s}
            rangeMs={rangeMs}
            thresholds={thresholdsFor(s.code, rules.data?.effective)}
          />
        ))}
      </div>
    </section>
  );
}
