import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVigilError } from '../../errors/catalogue.ts';
import {
  type Alert,
  acknowledge,
  escalate,
  escalationDue,
  nextHolder,
  realertDue,
  reopen,
  resolve,
  snooze,
} from './alert-lifecycle.ts';
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
    const ladder = ['nurse-a', 'dr-b', 'dr-c'];
    const a = openAlert();
    assert.equal(escalationDue(a, rules, T0 + 9 * MINUTE), false);
    assert.equal(escalationDue(a, rules, T0 + 10 * MINUTE), true);
    assert.deepEqual(nextHolder(a, ladder), { to: 'dr-b', isHolderGone: false });
    const b = escalate(a, 'dr-b', T0 + 10 * MINUTE);
    assert.equal(b.escalationLevel, 1);
    assert.equal(escalationDue(b, rules, T0 + 15 * MINUTE), false);
    assert.equal(escalationDue(b, rules, T0 + 20 * MINUTE), true);
    const c = escalate(b, 'dr-c', T0 + 20 * MINUTE);
    assert.equal(nextHolder(c, ladder), undefined, 'the last member keeps it');
  });

  it('does not escalate warnings, acknowledged alerts, or alerts with no one to pass them to', () => {
    const late = T0 + 60 * MINUTE;
    assert.equal(escalationDue(openAlert({ urgency: 'warning' }), rules, late), false);
    assert.equal(escalationDue(acknowledge(openAlert(), 'nurse-a', T0), rules, late), false);
    assert.equal(nextHolder(openAlert(), ['nurse-a']), undefined);
    assert.equal(nextHolder(openAlert(), []), undefined);
  });

  it('passes an alert on at once when its holder has left the ladder, skipping no one', () => {
    // nurse-a held it (level 0) and was disabled: dr-b now stands first and gets it.
    assert.deepEqual(nextHolder(openAlert(), ['dr-b', 'dr-c']), { to: 'dr-b', isHolderGone: true });
    // dr-b held it after one escalation and left: dr-c, now second, gets it.
    const b = escalate(openAlert(), 'dr-b', T0);
    assert.deepEqual(nextHolder(b, ['nurse-a', 'dr-c']), { to: 'dr-c', isHolderGone: true });
    // The holder is still on a ladder that shrank in front of them: the one after them is next.
    assert.deepEqual(nextHolder(b, ['dr-b', 'dr-c']), { to: 'dr-c', isHolderGone: false });
  });

  it('holds escalation while snoozed, then restarts its clock', () => {
    const a = snooze(openAlert(), 15, rules, T0 + MINUTE);
    assert.equal(escalationDue(a, rules, T0 + 15 * MINUTE), false);
    assert.equal(escalationDue(a, rules, T0 + 25 * MINUTE), false);
    assert.equal(escalationDue(a, rules, T0 + 26 * MINUTE), true);
  });

  it('limits a snooze to maxSnoozeMinutes', () => {
    assert.throws(() => snooze(openAlert(), 61, rules, T0), state('VIGIL_ERR_REQUEST_INVALID'));
    assert.throws(() => snooze(openAlert(), 0, rules, T0), state('VIGIL_ERR_REQUEST_INVALID'));
    assert.throws(() => snooze(openAlert(), 1.5, rules, T0), state('VIGIL_ERR_REQUEST_INVALID'));
    // A warning alert: an urgent one is held to urgentRealertMinutes (below).
    const warning = openAlert({ condition: 'glucose-low', urgency: 'warning' });
    assert.equal(snooze(warning, 60, rules, T0).snoozedUntilMs, T0 + 60 * MINUTE);
  });

  it('silences an urgent alert for urgentRealertMinutes at most', () => {
    assert.equal(snooze(openAlert(), 60, rules, T0).snoozedUntilMs, T0 + 30 * MINUTE);
    assert.equal(snooze(openAlert(), 15, rules, T0).snoozedUntilMs, T0 + 15 * MINUTE);
  });

  it('brings an acknowledged urgent alert back open, with the first of the team, urgentRealertMinutes on', () => {
    const acked = acknowledge(escalate(openAlert(), 'dr-b', T0 + 10 * MINUTE), 'dr-b', T0 + 12 * MINUTE);
    assert.equal(realertDue(acked, rules, T0 + 41 * MINUTE), false);
    assert.equal(realertDue(acked, rules, T0 + 42 * MINUTE), true);
    const back = reopen(acked, 'nurse-a', T0 + 42 * MINUTE);
    assert.deepEqual(
      [back.state, back.assignedTo, back.escalationLevel, back.assignedMs, back.acknowledgedBy],
      ['open', 'nurse-a', 0, T0 + 42 * MINUTE, null],
    );
    const warning = acknowledge(openAlert({ condition: 'glucose-low', urgency: 'warning' }), 'nurse-a', T0);
    assert.equal(realertDue(warning, rules, T0 + 120 * MINUTE), false, 'a warning stays acknowledged');
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
