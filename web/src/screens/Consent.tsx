import { type FormEvent, useState } from 'react';
import { useConsents, useRecordConsent, useRevokeConsent } from '../api/admin-queries.ts';
import { ConfirmButton } from '../components/ConfirmButton.tsx';
import { ErrorLine, FormError, QueryNotice } from '../components/QueryNotice.tsx';
import { StatusChip } from '../components/StatusChip.tsx';
import { parseId, parseLocalDateTime } from '../lib/admin-forms.ts';
import { exactTime } from '../lib/time.ts';

/** As src/access/consent.ts lists them. */
const PURPOSES = ['treatment', 'research', 'quality', 'payment', 'public-health'] as const;
const CATEGORIES = ['vital-signs', 'alerts', 'identity', 'device'] as const;

const day = (iso: string) => exactTime(iso, { seconds: false });

/**
 * A patient's consent records (what they permitted or refused, for which purposes and data,
 * over which period). Administrators record and revoke; auditors and privacy officers read.
 * Opening a patient's records is itself audited, so nothing loads until a patient is asked for.
 */
export function Consent(props: { canWrite: boolean }) {
  const [patientId, setPatientId] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const consents = useConsents(patientId);
  const onOpen = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const id = parseId(String(new FormData(e.currentTarget).get('patient') ?? ''), 'The patient id');
    if (!id.ok) return setFormError(id.error);
    setFormError(null);
    setPatientId(id.value);
  };
  const list = consents.data?.consents ?? [];
  return (
    <section aria-labelledby="consent-title">
      <h1 id="consent-title">Consent</h1>
      <form className="filters" onSubmit={onOpen} aria-label="Open a patient's consent records">
        <label htmlFor="consent-patient">Patient id</label>
        <input id="consent-patient" name="patient" required maxLength={64} autoComplete="off" />
        <button type="submit">Show consent</button>
      </form>
      <FormError message={formError} />
      {patientId && (
        <>
          <h2>Records of {patientId}</h2>
          <QueryNotice isPending={consents.isPending} error={consents.error} what="consent records" />
          {consents.isSuccess && list.length === 0 && (
            <p className="notice">
              No consent on file: nobody outside the care team may use this patient's data.
            </p>
          )}
          {list.length > 0 && (
            <table className="data">
              <thead>
                <tr>
                  <th scope="col">Decision</th>
                  <th scope="col">Purposes</th>
                  <th scope="col">Data</th>
                  <th scope="col">Period</th>
                  <th scope="col">Status</th>
                  {props.canWrite && <th scope="col">Action</th>}
                </tr>
              </thead>
              <tbody>
                {list.map((c) => (
                  <tr key={c.id}>
                    <th scope="row">
                      {c.decision === 'permit' ? 'Permit' : 'Deny'}
                      <div className="muted">recorded {day(c.recorded)}</div>
                    </th>
                    <td>{c.purposes.join(', ')}</td>
                    <td>{c.categories.join(', ')}</td>
                    <td>
                      {day(c.start)} – {c.end ? day(c.end) : 'no end'}
                    </td>
                    <td>
                      {c.status === 'active' ? (
                        <StatusChip tone="ok" label="Active" />
                      ) : (
                        <StatusChip tone="muted" label="Revoked" />
                      )}
                    </td>
                    {props.canWrite && (
                      <td>
                        {c.status === 'active' && <RevokeConsent patientId={patientId} consentId={c.id} />}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {props.canWrite && <RecordConsent patientId={patientId} />}
        </>
      )}
    </section>
  );
}

function RevokeConsent(props: { patientId: string; consentId: string }) {
  const revoke = useRevokeConsent();
  return (
    <>
      <ConfirmButton
        label="Revoke"
        confirmLabel="Confirm revoke"
        target={props.consentId}
        danger
        disabled={revoke.isPending}
        onConfirm={() => revoke.mutate(props)}
      />
      <ErrorLine error={revoke.error} />
    </>
  );
}

function RecordConsent(props: { patientId: string }) {
  const record = useRecordConsent();
  const [formError, setFormError] = useState<string | null>(null);
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const purposes = data.getAll('purpose').map(String);
    const categories = data.getAll('category').map(String);
    const start = parseLocalDateTime(String(data.get('start') ?? ''), 'Start');
    const end = parseLocalDateTime(String(data.get('end') ?? ''), 'End');
    const problem =
      purposes.length === 0
        ? 'Choose at least one purpose.'
        : categories.length === 0
          ? 'Choose at least one kind of data.'
          : !start.ok
            ? start.error
            : !end.ok
              ? end.error
              : null;
    if (problem || !start.ok || !end.ok) return setFormError(problem);
    setFormError(null);
    record.mutate(
      {
        patientId: props.patientId,
        decision: data.get('decision') === 'deny' ? 'deny' : 'permit',
        purposes,
        categories,
        ...(start.value ? { start: start.value } : {}),
        ...(end.value ? { end: end.value } : {}),
      },
      { onSuccess: () => form.reset() },
    );
  };
  return (
    <form className="adm-form" onSubmit={onSubmit} aria-label="Record a consent decision">
      <h2>Record a consent decision</h2>
      <fieldset>
        <legend>Decision</legend>
        <label>
          <input type="radio" name="decision" value="permit" defaultChecked /> Permit
        </label>
        <label>
          <input type="radio" name="decision" value="deny" /> Deny
        </label>
      </fieldset>
      <fieldset>
        <legend>Purposes</legend>
        {PURPOSES.map((p) => (
          <label key={p}>
            <input type="checkbox" name="purpose" value={p} /> {p}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Data categories</legend>
        {CATEGORIES.map((c) => (
          <label key={c}>
            <input type="checkbox" name="category" value={c} /> {c}
          </label>
        ))}
      </fieldset>
      <div className="adm-fields">
        <label>
          Start (empty: now)
          <input type="datetime-local" name="start" />
        </label>
        <label>
          End (empty: until revoked)
          <input type="datetime-local" name="end" />
        </label>
        <button type="submit" disabled={record.isPending}>
          Record consent
        </button>
      </div>
      <FormError message={formError} />
      <ErrorLine error={record.error} />
    </form>
  );
}
