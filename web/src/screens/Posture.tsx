import { type DevicePosture, type RiskBand, usePostureDevices } from '../api/posture.ts';
import { Link } from '../components/Link.tsx';
import { QueryNotice } from '../components/QueryNotice.tsx';
import { bandWord, RiskChip } from '../components/RiskChip.tsx';
import { StatusChip } from '../components/StatusChip.tsx';
import { BANDS, devicesByBand, modelsNearEndOfSupport, topFindings } from '../lib/posture-summary.ts';
import { supportText } from './PostureSection.tsx';
import '../posture.css';
import { exactTime } from '../lib/time.ts';

/** The fleet's security posture at a glance: how many devices at each risk level, what to fix first, what to replace. */
export function Posture(props: { canOpenDevice: boolean }) {
  const posture = usePostureDevices();
  const devices = posture.data?.devices ?? [];
  return (
    <section aria-labelledby="posture-screen-title">
      <h1 id="posture-screen-title">Fleet posture</h1>
      <QueryNotice isPending={posture.isPending} error={posture.error} what="the fleet's posture" />
      {posture.isSuccess && devices.length === 0 && <p className="notice">No devices are registered yet.</p>}
      {devices.length > 0 && (
        <>
          <p className="muted">
            {devices.length} devices assessed at {exactTime(posture.data?.generatedAt ?? '')}.
          </p>
          <div className="posture-summary">
            <article className="panel" aria-labelledby="bands-title">
              <h2 id="bands-title">Devices by risk level</h2>
              <BandBars counts={devicesByBand(devices)} />
            </article>
            <SupportPanel devices={devices} />
          </div>
          <TopFindings devices={devices} />
          <RiskiestDevices devices={devices} canOpenDevice={props.canOpenDevice} />
        </>
      )}
    </section>
  );
}

const ROW_PX = 28;
const LABEL_PX = 90;
const BAR_PX = 300;

/** Plain SVG bars sized by attributes (the CSP forbids inline styles); the numbers are written beside them. */
export function BandBars(props: { counts: Record<RiskBand, number> }) {
  const max = Math.max(1, ...BANDS.map((b) => props.counts[b]));
  const summary = BANDS.map((b) => `${bandWord(b)} ${props.counts[b]}`).join(', ');
  return (
    <svg
      className="posture-bars"
      viewBox={`0 0 ${LABEL_PX + BAR_PX + 50} ${BANDS.length * ROW_PX}`}
      role="img"
      aria-label={`Devices by risk level: ${summary}`}
    >
      {BANDS.map((band, i) => {
        const n = props.counts[band];
        const width = Math.round((n / max) * BAR_PX);
        const y = i * ROW_PX;
        return (
          <g key={band}>
            <text x={0} y={y + 18}>
              {bandWord(band)}
            </text>
            <rect
              className={`posture-bar-${band}`}
              x={LABEL_PX}
              y={y + 5}
              width={width}
              height={ROW_PX - 10}
            />
            <text x={LABEL_PX + width + 6} y={y + 18}>
              {n}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

function SupportPanel(props: { devices: DevicePosture[] }) {
  const models = modelsNearEndOfSupport(props.devices);
  return (
    <article className="panel" aria-labelledby="support-title">
      <h2 id="support-title">End of support</h2>
      {models.length === 0 ? (
        <p className="muted">No model is past or within 180 days of its end of support.</p>
      ) : (
        <ul className="posture-why" aria-label="Models past or near end of support">
          {models.map((m) => (
            <li key={m.model}>
              <StatusChip
                tone={m.support.state === 'legacy' ? 'danger' : 'warning'}
                label={m.support.state === 'legacy' ? 'Out of support' : 'Ending'}
              />
              {m.model} ({m.devices} {m.devices === 1 ? 'device' : 'devices'}): {supportText(m.support)}
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}

function TopFindings(props: { devices: DevicePosture[] }) {
  const top = topFindings(props.devices);
  return (
    <section className="panel" aria-labelledby="top-findings-title">
      <h2 id="top-findings-title">Top findings across the fleet</h2>
      {top.length === 0 ? (
        <p className="notice">No open findings: no advisory matches the SBOMs on file.</p>
      ) : (
        <table className="data" aria-label="Top findings">
          <thead>
            <tr>
              <th scope="col">Vulnerability</th>
              <th scope="col">Worst risk</th>
              <th scope="col">Devices</th>
              <th scope="col">Exploitation</th>
              <th scope="col">Fix</th>
            </tr>
          </thead>
          <tbody>
            {top.map((f) => (
              <tr key={f.vulnerability}>
                <th scope="row">
                  <code>{f.vulnerability}</code>
                  <div className="muted">{f.summary}</div>
                </th>
                <td>
                  <RiskChip risk={f.worst} />
                </td>
                <td>{f.devices}</td>
                <td>
                  {f.kev && <StatusChip tone="danger" label="Known exploited (KEV)" />}
                  {f.epss !== null && <span>EPSS {(f.epss * 100).toFixed(1)}%</span>}
                  {!f.kev && f.epss === null && <span className="muted">none known</span>}
                </td>
                <td>{f.fix ?? <span className="muted">no fix yet</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const ACTION: Record<string, string> = {
  none: 'nothing to do',
  'firmware-update': 'plan a firmware update',
  'vendor-fix': 'ask the manufacturer for fixed firmware',
  'compensating-controls': 'apply compensating controls',
  replace: 'plan replacement',
};

const findingCount = (n: number) =>
  n === 0 ? 'no open findings' : n === 1 ? '1 open finding' : `${n} open findings`;

function RiskiestDevices(props: { devices: DevicePosture[]; canOpenDevice: boolean }) {
  const riskiest = props.devices.slice(0, 5);
  return (
    <section className="panel" aria-labelledby="riskiest-title">
      <h2 id="riskiest-title">Riskiest devices</h2>
      <ol className="posture-why">
        {riskiest.map((d) => (
          <li key={d.id}>
            <RiskChip risk={d.risk} />
            {props.canOpenDevice ? (
              <Link to={`/devices/${encodeURIComponent(d.id)}`}>
                <code>{d.id}</code>
              </Link>
            ) : (
              <code>{d.id}</code>
            )}{' '}
            {d.model} {d.firmware ?? ''}: {findingCount(d.findings.length)} ·{' '}
            {ACTION[d.recommendation.action] ?? d.recommendation.action}
          </li>
        ))}
      </ol>
    </section>
  );
}
