import { useMemo } from 'react';
import { useAlerts, useLatest, usePatients, useRecent } from '../api/queries.ts';
import type { Alert } from '../api/types.ts';
import { Link } from '../components/Link.tsx';
import { QueryNotice } from '../components/QueryNotice.tsx';
import { StatusChip } from '../components/StatusChip.tsx';
import { TrendArrow } from '../components/TrendArrow.tsx';
import { patientAlertSummary } from '../lib/alerts.ts';
import { ago } from '../lib/time.ts';
import { TREND_WINDOW_MS } from '../lib/trend.ts';
import { formatValue, VITALS, vitalInfo } from '../lib/vitals.ts';

/** Readings older than this are flagged: a silent device is itself a finding. */
const STALE_MS = 10 * 60_000;

export function PatientList() {
  const patients = usePatients();
  const alerts = useAlerts();
  const byPatient = useMemo(() => {
    const map = new Map<string, Alert[]>();
    for (const a of alerts.data?.alerts ?? []) map.set(a.patient, [...(map.get(a.patient) ?? []), a]);
    return map;
  }, [alerts.data]);
  const list = patients.data?.patients ?? [];
  return (
    <section aria-labelledby="patients-title">
      <h1 id="patients-title">My patients</h1>
      <QueryNotice isPending={patients.isPending} error={patients.error} what="patients" />
      {patients.isSuccess && list.length === 0 && (
        <p className="notice">No patients are assigned to you yet.</p>
      )}
      {list.length > 0 && (
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Patient</th>
              <th scope="col">Status</th>
              <th scope="col">Latest vitals</th>
              <th scope="col">Last reading</th>
            </tr>
          </thead>
          <tbody>
            {list.map((p) => (
              <PatientRow
                key={p.id}
                id={p.id}
                name={p.name}
                alerts={byPatient.get(p.id) ?? []}
                alertsKnown={alerts.isSuccess}
              />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const ORDER = Object.keys(VITALS);

function PatientRow(props: { id: string; name?: string | undefined; alerts: Alert[]; alertsKnown: boolean }) {
  const latest = useLatest(props.id);
  // A little more than the trend window, so the oldest reading it needs is surely inside.
  const recent = useRecent(props.id, TREND_WINDOW_MS + 5 * 60_000);
  const pointsOf = (code: string) => recent.data?.series.find((s) => s.code === code)?.points ?? [];
  const readings = [...(latest.data?.latest ?? [])].sort(
    (a, b) => ORDER.indexOf(a.code) - ORDER.indexOf(b.code),
  );
  const newest = readings.reduce<string | null>(
    (m, r) => (m === null || r.effective > m ? r.effective : m),
    null,
  );
  const isStale = newest !== null && Date.now() - Date.parse(newest) > STALE_MS;
  const summary = patientAlertSummary(props.alerts);
  return (
    <tr>
      <th scope="row">
        <Link to={`/patients/${encodeURIComponent(props.id)}`}>{props.name ?? props.id}</Link>
        {props.name && <div className="muted">{props.id}</div>}
      </th>
      <td>
        {props.alertsKnown ? (
          <StatusChip tone={summary.tone} label={summary.label} />
        ) : (
          <span className="muted">—</span>
        )}
        {isStale && <StatusChip tone="muted" label="No recent data" />}
      </td>
      <td>
        {latest.error ? (
          <span className="muted">unavailable</span>
        ) : readings.length === 0 ? (
          <span className="muted">{latest.isPending ? 'loading…' : 'no readings yet'}</span>
        ) : (
          <ul className="vitals-inline">
            {readings.map((r) => (
              <li key={r.code}>
                <span className="muted">{vitalInfo(r.code).label}</span> {formatValue(r.code, r.value)}{' '}
                {vitalInfo(r.code, r.unit).unit} <TrendArrow code={r.code} points={pointsOf(r.code)} />
              </li>
            ))}
          </ul>
        )}
      </td>
      <td>{ago(newest)}</td>
    </tr>
  );
}
