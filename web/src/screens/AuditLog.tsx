import { type FormEvent, useState } from 'react';
import { useAuditLog, useVerifyAudit } from '../api/admin-queries.ts';
import type { AuditFilter, AuditVerifyReport } from '../api/admin-types.ts';
import { ErrorLine, FormError, QueryNotice } from '../components/QueryNotice.tsx';
import { StatusChip, type Tone } from '../components/StatusChip.tsx';
import { parseLocalDateTime } from '../lib/admin-forms.ts';
import { exactTime } from '../lib/time.ts';

const OUTCOME_TONE: Record<string, Tone> = { success: 'ok', denied: 'danger', failure: 'warning' };

/** Who did what to which record, newest first; and a check that nobody altered the trail. */
export function AuditLog() {
  const [filter, setFilter] = useState<AuditFilter>({});
  const [formError, setFormError] = useState<string | null>(null);
  const log = useAuditLog(filter);
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const text = (k: string) => String(data.get(k) ?? '').trim();
    const from = parseLocalDateTime(text('from'), 'From');
    const to = parseLocalDateTime(text('to'), 'To');
    if (!from.ok) return setFormError(from.error);
    if (!to.ok) return setFormError(to.error);
    const action = text('action').toLowerCase();
    if (action && !/^[a-z][a-z0-9_.-]*$/.test(action))
      return setFormError('An action looks like device.revoke or consent.read.');
    setFormError(null);
    const next: AuditFilter = {};
    if (text('actor')) next.actor = text('actor');
    if (action) next.action = action;
    if (text('patient')) next.patient = text('patient');
    if (from.value) next.from = from.value;
    if (to.value) next.to = to.value;
    setFilter(next);
  };
  const entries = log.data?.pages.flatMap((p) => p.entries) ?? [];
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <VerifyPanel />
      <form className="filters adm-filters" onSubmit={onSubmit} aria-label="Search the audit log">
        <label>
          Actor <input name="actor" maxLength={200} autoComplete="off" />
        </label>
        <label>
          Action <input name="action" maxLength={200} placeholder="consent.read" autoComplete="off" />
        </label>
        <label>
          Patient <input name="patient" maxLength={64} autoComplete="off" />
        </label>
        <label>
          From <input type="datetime-local" name="from" />
        </label>
        <label>
          To <input type="datetime-local" name="to" />
        </label>
        <button type="submit">Search</button>
      </form>
      <FormError message={formError} />
      <QueryNotice isPending={log.isPending} error={log.error} what="the audit log" />
      {log.isSuccess && entries.length === 0 && <p className="notice">No audit entries match.</p>}
      {entries.length > 0 && (
        <table className="data">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Patient</th>
              <th scope="col">Resource</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.seq}>
                <th scope="row">{e.seq}</th>
                <td>{exactTime(e.time)}</td>
                <td className="cell-id">
                  {e.actor}
                  {e.source && <div className="muted">from {e.source}</div>}
                </td>
                <td>
                  <code>{e.action}</code>
                  {e.purpose && <div className="muted">{e.purpose}</div>}
                </td>
                <td className="cell-id">{e.patient ?? <span className="muted">—</span>}</td>
                <td className="cell-id">{e.resource}</td>
                <td>
                  <StatusChip tone={OUTCOME_TONE[e.outcome] ?? 'info'} label={e.outcome} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {log.hasNextPage && (
        <p>
          <button type="button" onClick={() => void log.fetchNextPage()} disabled={log.isFetchingNextPage}>
            Show older entries
          </button>
        </p>
      )}
    </section>
  );
}

function VerifyPanel() {
  const verify = useVerifyAudit();
  return (
    <div className="adm-verify">
      <button type="button" onClick={() => verify.mutate()} disabled={verify.isPending}>
        Verify audit trail
      </button>
      {verify.isPending && <span role="status"> Checking every entry and signature…</span>}
      {verify.data && <VerifyResult report={verify.data} />}
      <ErrorLine error={verify.error} />
    </div>
  );
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function VerifyResult(props: { report: AuditVerifyReport }) {
  const r = props.report;
  const last = r.lastCheckpoint;
  if (r.intact)
    return (
      <div className="notice adm-result" role="status">
        <StatusChip tone="ok" label="Intact" /> All {r.entries} entries chain correctly;{' '}
        {plural(r.checkpoints, 'signed checkpoint matches', 'signed checkpoints match')}.
        {last && (
          <>
            {' '}
            Last checkpoint #{last.id} vouches for entries up to #{last.auditSeq} ({exactTime(last.time)}).
          </>
        )}
        {r.unsignedTail > 0 && (
          <> {plural(r.unsignedTail, 'newer entry is', 'newer entries are')} chained but not yet signed.</>
        )}
      </div>
    );
  return (
    <div className="notice notice-error adm-result" role="alert">
      <StatusChip tone="danger" label="Broken" /> The audit trail was altered
      {r.brokenAt !== null && <> at entry #{r.brokenAt}</>} ({r.entries} entries checked).
      <ul>
        {r.problems.map((p) => (
          <li key={`${p.kind}-${p.at}`}>
            Entry #{p.at}: {p.kind} — {p.detail}
          </li>
        ))}
      </ul>
    </div>
  );
}
