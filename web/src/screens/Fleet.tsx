import { type FormEvent, useState } from 'react';
import { type RiskScore, usePostureDevices } from '../api/posture.ts';
import { useDevices, useQuarantine, useRelease } from '../api/queries.ts';
import type { Device } from '../api/types.ts';
import { DataQualityNotices } from '../components/DataQualityNotices.tsx';
import { Link } from '../components/Link.tsx';
import { ErrorLine, QueryNotice } from '../components/QueryNotice.tsx';
import { RelativeTime } from '../components/RelativeTime.tsx';
import { RiskChip } from '../components/RiskChip.tsx';
import { StatusChip } from '../components/StatusChip.tsx';
import { certificateStatus, deviceStatus } from '../lib/devices.ts';

/** Every device with what a security officer needs at a glance, and quarantine in one step. */
export function Fleet(props: { canQuarantine: boolean; canOpenDevice?: boolean; canReadPosture?: boolean }) {
  const devices = useDevices();
  const canReadPosture = props.canReadPosture ?? false;
  const posture = usePostureDevices(canReadPosture);
  const riskById = new Map((posture.data?.devices ?? []).map((p) => [p.id, p.risk]));
  // Whoever sees risk works the list from the riskiest device down; others keep the registry order.
  const list = canReadPosture
    ? [...(devices.data?.devices ?? [])].sort(
        (a, b) => (riskById.get(b.id)?.score ?? -1) - (riskById.get(a.id)?.score ?? -1),
      )
    : (devices.data?.devices ?? []);
  return (
    <section aria-labelledby="fleet-title">
      <h1 id="fleet-title">Device fleet</h1>
      <QueryNotice isPending={devices.isPending} error={devices.error} what="devices" />
      {devices.isSuccess && list.length === 0 && <p className="notice">No devices are registered yet.</p>}
      {list.length > 0 && (
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Model</th>
              <th scope="col">Firmware</th>
              <th scope="col">Patient</th>
              <th scope="col">Last seen</th>
              <th scope="col">Certificate</th>
              <th scope="col">Status</th>
              {canReadPosture && <th scope="col">Risk</th>}
              {props.canQuarantine && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {list.map((d) => (
              <DeviceRow
                key={d.id}
                device={d}
                canQuarantine={props.canQuarantine}
                canOpenDevice={props.canOpenDevice ?? false}
                risk={canReadPosture ? (riskById.get(d.id) ?? null) : undefined}
              />
            ))}
          </tbody>
        </table>
      )}
      {canReadPosture && posture.error && (
        <QueryNotice isPending={false} error={posture.error} what="device risk" />
      )}
      <DataQualityNotices />
    </section>
  );
}

function DeviceRow(props: {
  device: Device;
  canQuarantine: boolean;
  canOpenDevice: boolean;
  /** undefined: the role does not see risk; null: not assessed (yet). */
  risk?: RiskScore | null | undefined;
}) {
  const d = props.device;
  const status = deviceStatus(d);
  const cert = certificateStatus(d);
  return (
    <tr>
      <th scope="row" className="cell-id">
        {props.canOpenDevice ? (
          <Link to={`/devices/${encodeURIComponent(d.id)}`}>
            <code>{d.id}</code>
          </Link>
        ) : (
          <code>{d.id}</code>
        )}
        <div className="muted">{d.serial}</div>
      </th>
      <td className="cell-text">{d.model}</td>
      <td className="cell-text">{d.firmware ?? <span className="muted">unknown</span>}</td>
      <td className="cell-id">{d.patientId ?? <span className="muted">none</span>}</td>
      <td>
        <RelativeTime iso={d.lastSeen} />
      </td>
      <td>
        {cert ? <StatusChip tone={cert.tone} label={cert.label} /> : <span className="muted">none</span>}
      </td>
      <td>
        <StatusChip tone={status.tone} label={status.label} title={d.quarantineReason ?? undefined} />
      </td>
      {props.risk !== undefined && (
        <td>{props.risk ? <RiskChip risk={props.risk} /> : <span className="muted">not assessed</span>}</td>
      )}
      {props.canQuarantine && (
        <td>
          <QuarantineControl device={d} />
        </td>
      )}
    </tr>
  );
}

function QuarantineControl(props: { device: Device }) {
  const d = props.device;
  const quarantine = useQuarantine();
  const release = useRelease();
  const [isAsking, setAsking] = useState(false);
  if (d.status === 'quarantined')
    return (
      <>
        <button type="button" onClick={() => release.mutate(d.id)} disabled={release.isPending}>
          Release <span className="sr-only">{d.id}</span>
        </button>
        <ErrorLine error={release.error} />
      </>
    );
  if (!isAsking)
    return (
      <button type="button" className="danger" onClick={() => setAsking(true)}>
        Quarantine <span className="sr-only">{d.id}</span>
      </button>
    );
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const reason = String(new FormData(e.currentTarget).get('reason') ?? '').trim();
    quarantine.mutate({ id: d.id, reason }, { onSuccess: () => setAsking(false) });
  };
  return (
    <form onSubmit={onSubmit} className="inline-form" aria-label={`Quarantine ${d.id}`}>
      <label htmlFor={`reason-${d.id}`}>Reason</label>
      <input id={`reason-${d.id}`} name="reason" required minLength={3} maxLength={500} />
      <button type="submit" className="danger" disabled={quarantine.isPending}>
        Confirm quarantine
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
      <ErrorLine error={quarantine.error} />
    </form>
  );
}
