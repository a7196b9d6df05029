import { useDataQuality } from '../api/queries.ts';
import { ago } from '../lib/time.ts';
import { QueryNotice } from './QueryNotice.tsx';
import { StatusChip } from './StatusChip.tsx';

const ISSUE_TEXT: Record<string, string> = {
  'implausible-jump': 'Implausible jump between readings',
  'flat-line': 'Flat line (value stuck)',
  'clock-skew': 'Device clock is off',
};

/** Devices whose readings were marked questionable: a fault, or a sign of tampering. */
export function DataQualityNotices() {
  const notices = useDataQuality();
  const list = notices.data?.notices ?? [];
  return (
    <section aria-labelledby="dq-title" className="panel">
      <h2 id="dq-title">Data-quality notices</h2>
      <QueryNotice isPending={notices.isPending} error={notices.error} what="data-quality notices" />
      {notices.isSuccess && list.length === 0 && (
        <p className="muted">No device is sending questionable readings.</p>
      )}
      {list.length > 0 && (
        <ul className="dq-list">
          {list.map((n) => (
            <li key={n.id}>
              <StatusChip tone="warning" label={ISSUE_TEXT[n.issue] ?? n.issue} /> device{' '}
              <code>{n.device}</code>
              {n.patient === null ? '' : ` (patient ${n.patient})`}: {n.questionableReadings} questionable
              reading
              {n.questionableReadings === 1 ? '' : 's'}, last {ago(n.last)}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
