import {
  type DevicePosture,
  type PostureFinding,
  type SupportStatus,
  useDevicePosture,
} from '../api/posture.ts';
import { QueryNotice } from '../components/QueryNotice.tsx';
import { RiskChip } from '../components/RiskChip.tsx';
import { StatusChip } from '../components/StatusChip.tsx';
import '../posture.css';

/** The device's security posture: what runs on it, what is wrong with it, and why it scores what it does. */
export function PostureSection(props: { deviceId: string }) {
  const posture = useDevicePosture(props.deviceId);
  const p = posture.data;
  return (
    <section className="panel" aria-labelledby="posture-title">
      <h2 id="posture-title">Security posture</h2>
      <QueryNotice isPending={posture.isPending} error={posture.error} what="the device's posture" />
      {p && <PostureDetails posture={p} />}
    </section>
  );
}

export function supportText(s: SupportStatus): string {
  switch (s.state) {
    case 'unknown':
      return 'not recorded';
    case 'supported':
      return `supported (${s.daysLeft} days left)`;
    case 'legacy':
      return `ended ${-(s.daysLeft ?? 0)} days ago (legacy device)`;
    default:
      return `ends in ${s.daysLeft} days`;
  }
}

function PostureDetails(props: { posture: DevicePosture }) {
  const p = props.posture;
  const nearEnd = p.support.state === 'legacy' || p.support.state.startsWith('ends-within');
  return (
    <>
      <dl className="adm-details">
        <dt>Risk</dt>
        <dd>
          <RiskChip risk={p.risk} />
        </dd>
        <dt>Model</dt>
        <dd>
          {p.model}
          {p.manufacturer && <span className="muted"> by {p.manufacturer}</span>}
          {p.criticality && <span className="muted"> · {p.criticality}</span>}
        </dd>
        <dt>Firmware</dt>
        <dd>{p.firmware ?? <span className="muted">not reported yet</span>}</dd>
        <dt>SBOM</dt>
        <dd>
          {p.hasSbom ? (
            <StatusChip tone="ok" label="On file" />
          ) : (
            <StatusChip tone="muted" label="None for this firmware" />
          )}
        </dd>
        <dt>End of support</dt>
        <dd>
          {nearEnd ? (
            <StatusChip
              tone={p.support.state === 'legacy' ? 'danger' : 'warning'}
              label={supportText(p.support)}
            />
          ) : (
            supportText(p.support)
          )}
        </dd>
        <dt>Network</dt>
        <dd>
          {p.zone} zone · {p.connection === 'mtls' ? 'mutual TLS' : 'legacy shared secret'}
          {p.internetReachable && ' · reachable from the internet'}
        </dd>
      </dl>
      <h3>Why this score</h3>
      <ul className="posture-why" aria-label="Risk explanation">
        {p.risk.parts.map((part) => (
          <li key={`${part.factor}-${part.why}`}>
            +{part.points} {part.factor}: {part.why}
          </li>
        ))}
        <li>× {p.risk.multiplier.why}</li>
      </ul>
      {p.warnings.length > 0 && (
        <ul className="posture-why" aria-label="Posture warnings">
          {p.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      <h3>Findings</h3>
      {p.findings.length === 0 ? (
        <p className="notice">No open findings.</p>
      ) : (
        <FindingsTable findings={p.findings} />
      )}
      {p.suppressed.length > 0 && (
        <p className="muted">
          {p.suppressed.length} more {p.suppressed.length === 1 ? 'finding is' : 'findings are'} suppressed by
          VEX statements (not affected or fixed).
        </p>
      )}
      {p.recommendation.steps.length > 0 && (
        <>
          <h3>What to do</h3>
          <ol className="posture-why">
            {p.recommendation.steps.map((s) => (
              <li key={s}>{s}</li>
            ))}
          </ol>
        </>
      )}
    </>
  );
}

export function FindingsTable(props: { findings: PostureFinding[] }) {
  return (
    <table className="data" aria-label="Findings">
      <thead>
        <tr>
          <th scope="col">Vulnerability</th>
          <th scope="col">Risk</th>
          <th scope="col">Severity</th>
          <th scope="col">Exploitation</th>
          <th scope="col">Component</th>
          <th scope="col">Fixed in</th>
        </tr>
      </thead>
      <tbody>
        {props.findings.map((f) => (
          <tr key={`${f.vulnerability}-${f.component}`}>
            <th scope="row">
              <code>{f.vulnerability}</code>
              {f.advisoryId !== f.vulnerability && <div className="muted">{f.advisoryId}</div>}
              <div className="muted">{f.summary}</div>
            </th>
            <td>{f.risk ? <RiskChip risk={f.risk} /> : <span className="muted">—</span>}</td>
            <td>
              {f.cvss ? (
                <span title={f.cvss.vector}>
                  CVSS {f.cvss.version} {f.cvss.base.toFixed(1)}
                </span>
              ) : (
                <span className="muted">no vector</span>
              )}
            </td>
            <td>
              {f.kev && <StatusChip tone="danger" label="Known exploited (KEV)" />}
              {f.epss !== null && <span>EPSS {(f.epss * 100).toFixed(1)}%</span>}
              {!f.kev && f.epss === null && <span className="muted">none known</span>}
            </td>
            <td>
              <code>{f.component}</code> {f.installedVersion}
            </td>
            <td>
              {f.fixFirmware ? (
                `firmware ${f.fixFirmware}`
              ) : f.fixedVersion ? (
                f.fixedVersion
              ) : (
                <span className="muted">no fix yet</span>
              )}
              {f.status === 'under_investigation' && <div className="muted">vendor: under investigation</div>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
