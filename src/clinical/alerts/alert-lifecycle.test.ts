import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVigilError } from '../../errors/catalogue.ts';
import { type Alert, acknowledge, escalate, escalationDue, resolve, snooze } from './alert-lifecycle.ts';
import { DEFAULT_ALERT_RULES } from './alert-rules.ts';
import { MINUTE, T0 } from './test-traces.ts';

function openAlert(over: Partial<Alert> = {}): Alert {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    patientId: 'p-1',
    condition: 'glucose-urgent-low',
    deviceId: '',
    urgency: 'urgent',
    state: 'open',
    value: 50,
    openedMs: T0,
    updatedMs: T0,
    onsetMs: T0,
    acknowledgedBy: null,
    acknowledgedMs: null,
    snoozedUntilMs: null,
    resolvedMs: null,
    resolvedBy: null,
    resolution: null,
    escalationLevel: 0,
    assignedTo: 'nurse-a',
    assignedMs: T0,
    ...over,
  };
}
const rules = DEFAULT_ALERT_RULES;
const state = (code: string) => (e: unknown) => isVigilError(e) && e.code === code;

describe('alert lifecycle', () => {
  it('escalates an unacknowledged urgent alert after escalateAfterMinutes, down the team in order', () => {
    const a = openAlert();
    assert.equal(escalationDue(a, rules, 3, T0 + 9 * MINUTE), false);
    assert.equal(escalationDue(a, rules, 3, T0 + 10 * MINUTE), true);
    const b = escalate(a, 'dr-b', T0 + 10 * MINUTE);
    assert.equal(b.escalationLevel, 1);
    assert.equal(escalationDue(b, rules, 3, T0 + 15 * MINUTE), false);
    assert.equal(escalationDue(b, rules, 3, T0 + 20 * MINUTE), true);
    const c = escalate(b, 'dr-c', T0 + 20 * MINUTE);
    assert.equal(escalationDue(c, rules, 3, T0 + 90 * MINUTE), false, 'the last member keeps it');
  });

  it('does not escalate warnings, acknowledged alerts, or alerts with no one to pass them to', () => {
    const late = T0 + 60 * MINUTE;
    assert.equal(escalationDue(openAlert({ urgency: 'warning' }), rules, 3, late), false);
    assert.equal(escalationDue(acknowledge(openAlert(), 'nurse-a', T0), rules, 3, late), false);
    assert.equal(escalationDue(openAlert(), rules, 1, late), false);
    assert.equal(escalationDue(openAlert(), rules, 0, late), false);
  });

  it('holds escalation while snoozed, then restarts its clock', () => {
    const a = snooze(openAlert(), 15, rules, T0 + MINUTE);
    assert.equal(escalationDue(a, rules, 2, T0 + 15 * MINUTE), false);
    assert.equal(escalationDue(a, rules, 2, T0 + 25 * MINUTE), false);
    assert.equal(escalationDue(a, rules, 2, T0 + 26 * MINUTE), true);
  });

  it('limits a snooze to maxSnoozeMinutes', () => {
    assert.throws(() => snooze(openAlert(), 61, rules, T0), state('VIGIL_ERR_REQUEST_INVALID'));
    assert.throws(() => snooze(openAlert(), 0, rules, T0), state('VIGIL_ERR_REQUEST_INVALID'));
    assert.throws(() => snooze(openAlert(), 1.5, rules, T0), state('VIGIL_ERR_REQUEST_INVALID'));
    assert.equal(snooze(openAlert(), 60, rules, T0).snoozedUntilMs, T0 + 60 * MINUTE);
  });

  it('moves open -> acknowledged -> resolved and refuses steps back', () => {
    const acked = acknowledge(openAlert(), 'nurse-a', T0 + MINUTE);
    assert.equal(acked.state, 'acknowledged');
    assert.throws(() => acknowledge(acked, 'nurse-a', T0), state('VIGIL_ERR_ALERT_STATE'));
    assert.throws(() => snooze(acked, 5, rules, T0), state('VIGIL_ERR_ALERT_STATE'));
    const done = resolve(acked, 'nurse-a', 'manual', T0 + 2 * MINUTE);
    assert.deepEqual([done.state, done.resolution, done.resolvedBy], ['resolved', 'manual', 'nurse-a']);
    assert.throws(() => resolve(done, 'x', 'manual', T0), state('VIGIL_ERR_ALERT_STATE'));
    assert.throws(() => acknowledge(done, 'x', T0), state('VIGIL_ERR_ALERT_STATE'));
  });
});
