import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useDeviceDetail, useNewEnrollmentToken, useRevokeDevice } from '../api/admin-queries.ts';
import type { DeviceDetail, EnrollmentToken } from '../api/admin-types.ts';
import { useQuarantine, useRelease } from '../api/queries.ts';
import { AssignPatient } from '../components/AssignPatient.tsx';
import { ConfirmButton } from '../components/ConfirmButton.tsx';
import { Link } from '../components/Link.tsx';
import { ErrorLine, QueryNotice } from '../components/QueryNotice.tsx';
import { StatusChip } from '../components/StatusChip.tsx';
import { certificateStatus, deviceStatus } from '../lib/devices.ts';
import { ago, dayOf, exactTime } from '../lib/time.ts';
import { EnrollmentTokenPanel } from './EnrolDevice.tsx';
import { PostureSection } from './PostureSection.tsx';

/** One device: what it is, who it measures, how it connects, and the actions on it. */
export function DevicePage(props: {
  deviceId: string;
  canQuarantine: boolean;
  canAdminister: boolean;
  canReadPosture?: boolean;
}) {
  const detail = useDeviceDetail(props.deviceId);
  const [token, setToken] = useState<EnrollmentToken | null>(null);
  const d = detail.data;
  return (
    <section aria-labelledby="device-title">
      <p>
        <Link to="/fleet">← Fleet</Link>
      </p>
      <h1 id="device-title">
        Device <code>{props.deviceId}</code>
      </h1>
      <QueryNotice isPending={detail.isPending} error={detail.error} what="the device" />
      {token && (
        <EnrollmentTokenPanel deviceId={props.deviceId} enrollment={token} onDone={() => setToken(null)} />
      )}
      {d && <Details detail={d} />}
      {d && (props.canQuarantine || props.canAdminister) && (
        <Actions
          detail={d}
          canQuarantine={props.canQuarantine}
          canAdminister={props.canAdminister}
          onToken={setToken}
        />
      )}
      {d && props.canReadPosture && <PostureSection deviceId={props.deviceId} />}
      {d && d.certificates.length > 0 && <Certificates detail={d} />}
    </section>
  );
}

function Details(props: { detail: DeviceDetail }) {
  const { device: d, connected, certificates } = props.detail;
  // "Last seen" counts messages; a device connected but quiet is still online.
  const listed = deviceStatus(d);
  const valid = certificates.find((c) => c.revoked === null);
  const status =
    d.status !== 'quarantined' && d.enrolled && !valid
      ? { tone: 'danger' as const, label: 'Certificate revoked' }
      : connected && listed.label === 'Offline'
        ? { tone: 'ok' as const, label: 'Online' }
        : listed;
  const cert = certificateStatus(d);
  return (
    <dl className="adm-details">
      <dt>Status</dt>
      <dd>
        <StatusChip tone={status.tone} label={status.label} />
        {d.quarantineReason && <span> reason: {d.quarantineReason}</span>}
      </dd>
      <dt>Connected now</dt>
      <dd>
        {connected ? (
          <StatusChip tone="ok" label="Connected" />
        ) : (
          <StatusChip tone="muted" label="Not connected" />
        )}
      </dd>
      <dt>Model</dt>
      <dd>{d.model}</dd>
      <dt>Serial number</dt>
      <dd>{d.serial}</dd>
      <dt>Firmware</dt>
      <dd>{d.firmware ?? <span className="muted">not reported yet</span>}</dd>
      <dt>Battery</dt>
      <dd>{d.battery === null ? <span className="muted">not reported yet</span> : `${d.battery} %`}</dd>
      <dt>Patient</dt>
      <dd>{d.patientId ?? <span className="muted">not assigned</span>}</dd>
      <dt>Last message</dt>
      <dd title={d.lastSeen ? exactTime(d.lastSeen) : undefined}>{ago(d.lastSeen)}</dd>
      <dt>Certificate expiry</dt>
      <dd>
        {cert ? (
          <StatusChip tone={cert.tone} label={cert.label} />
        ) : (
          <span className="muted">no valid certificate</span>
        )}
      </dd>
      <dt>Connection security</dt>
      <dd>
        {valid ? (
          <>
            Mutual TLS with a client certificate from the Vigil device CA, serial <code>{valid.serial}</code>,
            SHA-256 fingerprint <code className="adm-wrap">{valid.fingerprint}</code>
          </>
        ) : (
          <>
            <StatusChip tone="danger" label="No valid certificate" /> the device is refused until it enrols
            with a new token.
          </>
        )}
      </dd>
    </dl>
  );
}

function Actions(props: {
  detail: DeviceDetail;
  canQuarantine: boolean;
  canAdminister: boolean;
  onToken: (t: EnrollmentToken) => void;
}) {
  const { device: d } = props.detail;
  const client = useQueryClient();
  const refresh = { onSuccess: () => void client.invalidateQueries({ queryKey: ['device', d.id] }) };
  const quarantine = useQuarantine();
  const release = useRelease();
  const revoke = useRevokeDevice();
  const token = useNewEnrollmentToken();
  const onQuarantine = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const reason = String(new FormData(e.currentTarget).get('reason') ?? '').trim();
    quarantine.mutate({ id: d.id, reason }, refresh);
  };
  const onRevoke = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const reason = String(new FormData(e.currentTarget).get('reason') ?? '').trim();
    revoke.mutate({ id: d.id, reason });
  };
  return (
    <div className="adm-cards">
      {props.canQuarantine && (
        <article className="adm-card" aria-labelledby="quarantine-title">
          <h2 id="quarantine-title">Quarantine</h2>
          {d.status === 'quarantined' ? (
            <button type="button" onClick={() => release.mutate(d.id, refresh)} disabled={release.isPending}>
              Release from quarantine
            </button>
          ) : (
            <form className="inline-form" onSubmit={onQuarantine} aria-label="Quarantine this device">
              <label htmlFor="quarantine-reason">Reason</label>
              <input id="quarantine-reason" name="reason" required minLength={3} maxLength={500} />
              <button type="submit" className="danger" disabled={quarantine.isPending}>
                Quarantine
              </button>
            </form>
          )}
          <ErrorLine error={quarantine.error ?? release.error} />
        </article>
      )}
      {props.canAdminister && <AssignPatient deviceId={d.id} current={d.patientId} />}
      {props.canAdminister && (
        <article className="adm-card" aria-labelledby="credentials-title">
          <h2 id="credentials-title">Credentials</h2>
          <p className="muted">
            A new token lets the device enrol again; its current certificate works until then. Revoking cuts
            it off now and voids unused tokens.
          </p>
          <ConfirmButton
            label="New enrollment token"
            confirmLabel="Confirm new token"
            target={d.id}
            disabled={token.isPending}
            onConfirm={() => token.mutate(d.id, { onSuccess: props.onToken })}
          />
          <form
            className="inline-form adm-gap"
            onSubmit={onRevoke}
            aria-label="Revoke this device's certificate"
          >
            <label htmlFor="revoke-reason">Reason for revoking</label>
            <input id="revoke-reason" name="reason" required minLength={3} maxLength={500} />
            <button type="submit" className="danger" disabled={revoke.isPending}>
              Revoke certificate
            </button>
          </form>
          {revoke.data && (
            <p className="notice" role="status">
              {revoke.data.revokedCertificates === 0
                ? 'The device held no valid certificate; unused tokens are void.'
                : 'Certificate revoked: the device was disconnected and will be refused.'}
            </p>
          )}
          <ErrorLine error={revoke.error ?? token.error} />
        </article>
      )}
    </div>
  );
}

function Certificates(props: { detail: DeviceDetail }) {
  return (
    <section className="panel" aria-labelledby="certs-title">
      <h2 id="certs-title">Certificates issued</h2>
      <table className="data">
        <thead>
          <tr>
            <th scope="col">Serial</th>
            <th scope="col">Issued</th>
            <th scope="col">Valid until</th>
            <th scope="col">Standing</th>
          </tr>
        </thead>
        <tbody>
          {props.detail.certificates.map((c) => (
            <tr key={c.serial}>
              <th scope="row">
                <code>{c.serial}</code>
              </th>
              <td>{exactTime(c.issued)}</td>
              <td>{dayOf(c.notAfter)}</td>
              <td>
                {c.revoked === null ? (
                  <StatusChip tone="ok" label="Valid" />
                ) : (
                  <StatusChip tone="danger" label={`Revoked (${c.revokeReason ?? 'no reason'})`} />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
