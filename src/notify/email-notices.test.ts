import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AlertWithoutValue } from '../clinical/alerts/alerts.store.ts';
import { emailNoticesOf } from './email-notices.ts';

const alertOf = (id: string, changes: Partial<AlertWithoutValue> = {}) =>
  ({ id, patientId: 'p-1', urgency: 'urgent', assignedTo: 'dr-b', ...changes }) as AlertWithoutValue;
const step = (id: number, action: string, alert: AlertWithoutValue) => ({
  event: { id, alertId: alert.id, ts: id, action },
  alert,
});

describe('alert e-mail notices', () => {
  it('tells the holder of an urgent alert raised, and the holder an escalation passes it to', () => {
    assert.deepEqual(emailNoticesOf([step(1, 'raise', alertOf('a-1', { assignedTo: 'nurse-a' }))]), [
      { alertId: 'a-1', eventId: 1, kind: 'raise', member: 'nurse-a' },
    ]);
    assert.deepEqual(emailNoticesOf([step(2, 'escalate', alertOf('a-1'))]), [
      { alertId: 'a-1', eventId: 2, kind: 'escalate', member: 'dr-b' },
    ]);
  });

  it('tells nobody of a warning raised, of an alert nobody holds, or of other steps', () => {
    assert.deepEqual(
      emailNoticesOf([
        step(1, 'raise', alertOf('a-1', { urgency: 'warning' })),
        step(2, 'raise', alertOf('a-2', { assignedTo: null })),
        step(3, 'acknowledge', alertOf('a-3')),
        step(4, 'snooze', alertOf('a-4')),
      ]),
      [],
    );
  });

  it('tells only the holder now of an alert handed on again within the steps read together', () => {
    const a = alertOf('a-1');
    const b = alertOf('a-2', { assignedTo: 'nurse-c' });
    assert.deepEqual(
      emailNoticesOf([
        step(1, 'raise', a),
        step(2, 'raise', b),
        step(3, 'escalate', a),
        step(4, 'acknowledge', a),
      ]),
      [
        { alertId: 'a-2', eventId: 2, kind: 'raise', member: 'nurse-c' },
        { alertId: 'a-1', eventId: 3, kind: 'escalate', member: 'dr-b' },
      ],
    );
  });
});
