import { useMemo } from 'react';
import { useAlerts, useLatest, usePatients, useRecent } from '../api/queries.ts';
import type { Alert, PatientSummary } from '../api/types.ts';
import { EmergencyAccessMarker } from '../components/EmergencyAccess.tsx';
import { Link } from '../components/Link.tsx';
import { QueryNotice } from '../components/QueryNotice.tsx';
import { RelativeTime, useNow } from '../components/RelativeTime.tsx';
import { StatusChip } from '../components/StatusChip.tsx';
import { TrendArrow } from '../components/TrendArrow.tsx';
import { byAlertsThenId, patientAlertSummary } from '../lib/alerts.ts';
import { clock, dayOf, exactTime, OLD_READING_MS, zoneLabel } from '../lib/time.ts';
import { TREND_WINDOW_MS } from '../lib/trend.ts';
import { formatValue, VITALS, vitalInfo } from '../lib/vitals.ts';
import '../live.css';

/** Readings older than this are flagged: a silent device is itself a finding. */
const STALE_MS = 10 * 60_000;
const NO_ALERTS: readonly Alert[] = [];

export function PatientList() {
  const patients = usePatients();
  const alerts = useAlerts();
  const byPatient = useMemo(() => {
    const map = new Map<string, Alert[]>();
    for (const a of alerts.data?.alerts ?? []) map.set(a.patient, [...(map.get(a.patient) ?? []), a]);
    return map;
  }, [alerts.data]);
  // Patients with urgent or open alerts first: the list is where a clinician looks for them.
  const list = useMemo(
    () => byAlertsThenId(patients.data?.patients ?? [], (id) => byPatient.get(id) ?? NO_ALERTS),
    [patients.data, byPatient],
  );
  return (
    <section aria-labelledby="patients-title">
      <h1 id="patients-title">My patients</h1>
      <QueryNotice
        isPending={patients.isPending}
        error={patients.error}
        failureReason={patients.failureReason}
        what="patients"
      />
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
              <th scope="col">
                Last reading <span className="exact-time">({zoneLabel()})</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((p) => (
              <PatientRow
                key={p.id}
                patient={p}
                alerts={byPatient.get(p.id) ?? NO_ALERTS}
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

function PatientRow(props: { patient: PatientSummary; alerts: readonly Alert[]; alertsKnown: boolean }) {
  const { id, name, access, accessExpires } = props.patient;
  const latest = useLatest(id);
  const nowMs = useNow();
  // A little more than the trend window, so the oldest reading it needs is surely inside.
  const recent = useRecent(id, TREND_WINDOW_MS + 5 * 60_000);
  const pointsOf = (code: string) => recent.data?.series.find((s) => s.code === code)?.points ?? [];
  const readings = [...(latest.data?.latest ?? [])].sort(
    (a, b) => ORDER.indexOf(a.code) - ORDER.indexOf(b.code),
  );
  const newest = readings.reduce<string | null>(
    (m, r) => (m === null || r.effective > m ? r.effective : m),
    null,
  );
  const isStale = newest !== null && nowMs - Date.parse(newest) > STALE_MS;
  // Unknown until the latest readings are in: no chip says "no alerts" before that.
  const hasData = latest.isSuccess ? readings.length > 0 : undefined;
  const summary = patientAlertSummary(props.alerts, hasData ?? true);
  const isSummaryKnown =
    props.alertsKnown && (hasData !== undefined || props.alerts.some((a) => a.state !== 'resolved'));
  return (
    <tr>
      <th scope="row">
        <Link to={`/patients/${encodeURIComponent(id)}`}>{name ?? id}</Link>
        {name && <div className="muted">{id}</div>}
        {access === 'break-glass' && accessExpires && (
          <div>
            <EmergencyAccessMarker expires={accessExpires} nowMs={nowMs} />
          </div>
        )}
      </th>
      <td>
        {isSummaryKnown ? (
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
            {readings.map((r) => {
              const isOld = nowMs - Date.parse(r.effective) > OLD_READING_MS;
              return (
                <li key={r.code} className={isOld ? 'reading-old' : undefined}>
                  <span className="muted">{vitalInfo(r.code).label}</span> {formatValue(r.code, r.value)}{' '}
                  {vitalInfo(r.code, r.unit).unit}{' '}
                  {isOld ? (
                    <span className="old-tag" title={`measured ${exactTime(r.effective)}`}>
                      old
                    </span>
                  ) : (
                    <TrendArrow code={r.code} points={pointsOf(r.code)} />
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </td>
      <td>
        <RelativeTime iso={newest} />
        {newest && (
          <div className="exact-time">
            {dayOf(newest) === dayOf(nowMs) ? clock(newest) : exactTime(newest, { zone: false })}
          </div>
        )}
      </td>
    </tr>
  );
}
