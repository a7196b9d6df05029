import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_ENROLL_THROTTLE,
  type EnrollAttempt,
  EnrollThrottle,
  type EnrollThrottlePolicy,
  OVERFLOW_KEY,
  type ThrottleAnswer,
} from './enroll-throttle.ts';

/** A throttle on a clock the test moves. */
function throttleAt(policy: Partial<EnrollThrottlePolicy> = {}) {
  const clock = { ms: 1_000_000 };
  const throttle = new EnrollThrottle({ ...DEFAULT_ENROLL_THROTTLE, ...policy }, () => clock.ms);
  return { throttle, clock };
}

const attemptOf = (answer: ThrottleAnswer): EnrollAttempt => {
  assert.ok('attempt' in answer, `turned away: ${JSON.stringify(answer)}`);
  return answer.attempt;
};
const claimMany = (throttle: EnrollThrottle, key: string, n: number) =>
  Array.from({ length: n }, () => throttle.claim(key));

describe('enrolment throttle', () => {
  it('lets ten attempts of a source through in a minute, then says how long to wait', () => {
    const { throttle, clock } = throttleAt();
    for (const answer of claimMany(throttle, 'address:192.0.2.1', 10)) attemptOf(answer);
    clock.ms += 15_000;
    assert.deepEqual(throttle.claim('address:192.0.2.1'), {
      key: 'address:192.0.2.1',
      retryAfterMs: 45_000,
      isFirstRefusal: true,
    });
    const again = throttle.claim('address:192.0.2.1');
    assert.ok(!('attempt' in again) && !again.isFirstRefusal, 'only the first turned away is audited');
  });

  it('lets the source in again once its window has passed', () => {
    const { throttle, clock } = throttleAt();
    claimMany(throttle, 'address:192.0.2.2', 12);
    clock.ms += 59_999;
    assert.ok(!('attempt' in throttle.claim('address:192.0.2.2')));
    clock.ms += 1;
    attemptOf(throttle.claim('address:192.0.2.2'));
  });

  it('counts other sources apart', () => {
    const { throttle } = throttleAt();
    claimMany(throttle, 'address:192.0.2.3', 11);
    attemptOf(throttle.claim('address:192.0.2.4'));
  });

  it('takes a successful attempt back, once, so enrolling devices do not use up the limit', () => {
    const { throttle } = throttleAt();
    for (let i = 0; i < 50; i++) throttle.release(attemptOf(throttle.claim('address:192.0.2.5')));
    const last = attemptOf(throttle.claim('address:192.0.2.5'));
    throttle.release(last);
    throttle.release(last);
    for (const answer of claimMany(throttle, 'address:192.0.2.5', 10)) attemptOf(answer);
    assert.ok(!('attempt' in throttle.claim('address:192.0.2.5')), 'a double release earns no attempt');
  });

  it('counts attempts still in flight, so a burst cannot pass before the first are refused', () => {
    const { throttle } = throttleAt();
    const answers = claimMany(throttle, 'address:192.0.2.6', 100);
    assert.equal(answers.filter((a) => 'attempt' in a).length, 10);
  });

  it('does not let a release from an ended window lift the next one', () => {
    const { throttle, clock } = throttleAt();
    const old = attemptOf(throttle.claim('address:192.0.2.7'));
    clock.ms += 60_000;
    claimMany(throttle, 'address:192.0.2.7', 10);
    throttle.release(old);
    assert.ok(!('attempt' in throttle.claim('address:192.0.2.7')));
  });

  it('keeps memory bounded under a spray of addresses, holding the new ones in one shared window', () => {
    const { throttle, clock } = throttleAt({ maxKeys: 100 });
    for (let i = 0; i < 100; i++) attemptOf(throttle.claim(`address:10.0.0.${i}`));
    const sprayed = Array.from({ length: 1000 }, (_, i) =>
      throttle.claim(`address:10.1.${i >> 8}.${i & 255}`),
    );
    assert.equal(throttle.size, 100);
    assert.equal(sprayed.filter((a) => 'attempt' in a).length, 10, 'the overflow is held to one limit');
    const turnedAway = sprayed.filter((a) => !('attempt' in a));
    assert.ok(turnedAway.every((a) => 'key' in a && a.key === OVERFLOW_KEY));
    assert.equal(turnedAway.filter((a) => 'isFirstRefusal' in a && a.isFirstRefusal).length, 1);
    attemptOf(throttle.claim('address:10.0.0.1'));
    clock.ms += 60_000;
    attemptOf(throttle.claim('address:10.2.0.1'));
    assert.equal(throttle.size, 1, 'ended windows are forgotten');
  });
});
