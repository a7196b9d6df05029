import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { createDeviceCa, type DeviceCa, type IssuedCertificateStatus } from '../pki/index.ts';
import { nonceExtension, ocspRequestDer, readOcspResponse } from '../pki/ocsp-test-support.ts';
import { EnrollThrottle, type EnrollThrottlePolicy } from './enroll-throttle.ts';
import { OCSP_CACHE_MAX_AGE_MS, OcspAnswerCache } from './ocsp-answer-cache.ts';
import {
  DEFAULT_OCSP_GLOBAL_THROTTLE,
  DEFAULT_OCSP_THROTTLE,
  type OcspOutcome,
  OcspResponder,
} from './ocsp-responder.ts';

const GOOD = '5a1b2c3d4e5f60718293a4b5c6d7e8f9';
const OTHER = '6a1b2c3d4e5f60718293a4b5c6d7e8f9';
const CLIENT = '192.0.2.7';

/** A fake of the device store's status lookup: a table the test changes, and the lookups it was asked. */
function fakeStatuses(table: Map<string, IssuedCertificateStatus>) {
  const asked: string[][] = [];
  return {
    asked,
    certificateStatus: async (serials: readonly string[]) => {
      asked.push([...serials]);
      return new Map(
        serials.flatMap((s) => (table.has(s) ? [[s, table.get(s) as IssuedCertificateStatus] as const] : [])),
      );
    },
  };
}

function answerOf(outcome: OcspOutcome) {
  assert.ok('answer' in outcome, 'answered, not throttled');
  return outcome.answer;
}

describe('OCSP responder cache and throttle', () => {
  let ca: DeviceCa;
  let nowMs: number;
  let table: Map<string, IssuedCertificateStatus>;
  let store: ReturnType<typeof fakeStatuses>;
  let refusals: Counter<'code'>;
  let registry: Registry;

  const request = (serialHex: string, nonce?: Buffer) =>
    ocspRequestDer(
      [{ issuerPem: ca.issuing.certPem, serialHex }],
      nonce ? { extensions: [nonceExtension(nonce)] } : {},
    );
  const responder = (
    signaturesPerMinute = DEFAULT_OCSP_THROTTLE.refusalsPerWindow,
    global: Readonly<EnrollThrottlePolicy> = DEFAULT_OCSP_GLOBAL_THROTTLE,
  ) => {
    registry = new Registry();
    refusals = new Counter({
      name: 'vigil_refusals_total',
      help: 'refusals',
      labelNames: ['code'],
      registers: [registry],
    });
    return new OcspResponder({
      devices: store,
      ca,
      registry,
      refusals,
      clock: () => nowMs,
      cache: new OcspAnswerCache(),
      throttle: new EnrollThrottle(
        { ...DEFAULT_OCSP_THROTTLE, refusalsPerWindow: signaturesPerMinute },
        () => nowMs,
      ),
      globalThrottle: new EnrollThrottle(global, () => nowMs),
    });
  };
  const counted = async (name: string, labels: string) =>
    (await registry.getSingleMetricAsString(name))
      .split('\n')
      .find((l) => l.startsWith(`${name}{${labels}}`));

  before(async () => {
    ca = await createDeviceCa({ organization: 'Vigil test' });
  });
  const fresh = () => {
    nowMs = Date.UTC(2026, 11, 4, 12);
    table = new Map([
      [GOOD, { revokedAtMs: null, reason: null }],
      [OTHER, { revokedAtMs: null, reason: null }],
    ]);
    store = fakeStatuses(table);
  };

  it('hands out the identical signed bytes for a repeated request without a nonce, reading the store once', async () => {
    fresh();
    const ocsp = responder();
    const first = answerOf(await ocsp.answer(request(GOOD), CLIENT));
    nowMs += 60_000;
    const again = await ocsp.answer(request(GOOD), '198.51.100.1');
    assert.deepEqual(answerOf(again).der, first.der);
    assert.ok('isCached' in again && again.isCached);
    assert.equal(store.asked.length, 1);
    assert.equal(readOcspResponse(first.der, ca.issuing.certPem).responses[0]?.status, 'good');
    assert.match((await counted('vigil_ocsp_successful_answers_total', 'source="cache"')) ?? '', / 1$/);
  });

  it('signs once for identical requests without a nonce that arrive together', async () => {
    fresh();
    const ocsp = responder();
    const together = await Promise.all([1, 2, 3].map(() => ocsp.answer(request(GOOD), CLIENT)));
    const [first, ...others] = together.map(answerOf);
    for (const other of others) assert.deepEqual(other.der, first?.der);
    assert.equal(store.asked.length, 1);
  });

  it('answers revoked at once after a revocation and invalidate, never good from the cache', async () => {
    fresh();
    const ocsp = responder();
    const good = answerOf(await ocsp.answer(request(GOOD), CLIENT));
    table.set(GOOD, { revokedAtMs: nowMs - 1000, reason: 'reported stolen' });
    ocsp.invalidate();
    const revoked = answerOf(await ocsp.answer(request(GOOD), CLIENT));
    assert.notDeepEqual(revoked.der, good.der);
    assert.deepEqual(revoked.certStatuses, ['revoked']);
    assert.deepEqual(
      answerOf(await ocsp.answer(request(GOOD), CLIENT)).der,
      revoked.der,
      'the new answer is cached',
    );
  });

  it('after invalidate, serves an answer whose status has not changed from the cache once the store agrees', async () => {
    fresh();
    const ocsp = responder();
    const first = answerOf(await ocsp.answer(request(GOOD), CLIENT));
    table.set(OTHER, { revokedAtMs: nowMs, reason: 'superseded' });
    ocsp.invalidate();
    assert.deepEqual(answerOf(await ocsp.answer(request(GOOD), CLIENT)).der, first.der);
    assert.deepEqual(answerOf(await ocsp.answer(request(GOOD), CLIENT)).der, first.der);
    // One lookup to sign, one to confirm after the invalidation, none for the last.
    assert.equal(store.asked.length, 2);
  });

  it(`signs again once a cached answer is ${OCSP_CACHE_MAX_AGE_MS / 60_000} minutes old`, async () => {
    fresh();
    const ocsp = responder();
    const first = answerOf(await ocsp.answer(request(GOOD), CLIENT));
    nowMs += OCSP_CACHE_MAX_AGE_MS;
    const later = answerOf(await ocsp.answer(request(GOOD), CLIENT));
    assert.notDeepEqual(later.der, first.der);
    assert.equal(later.thisUpdateMs, nowMs);
  });

  it('signs each request with a nonce for it, nonce echoed, and keeps none of them', async () => {
    fresh();
    const ocsp = responder();
    const a = answerOf(await ocsp.answer(request(GOOD, Buffer.alloc(16, 1)), CLIENT));
    const b = answerOf(await ocsp.answer(request(GOOD, Buffer.alloc(16, 2)), CLIENT));
    assert.notDeepEqual(a.der, b.der);
    assert.ok(readOcspResponse(a.der).nonceValue);
    const plain = answerOf(await ocsp.answer(request(GOOD), CLIENT));
    assert.equal(
      readOcspResponse(plain.der).nonceValue,
      undefined,
      'a nonce answer is never served to another request',
    );
  });

  it('refuses a client fresh signatures past its budget, with the time to wait, and counts the refusal', async () => {
    fresh();
    const ocsp = responder(2);
    answerOf(await ocsp.answer(request(GOOD), CLIENT));
    answerOf(await ocsp.answer(request(OTHER), CLIENT));
    nowMs += 20_000;
    const refused = await ocsp.answer(request('7a1b2c3d'), CLIENT);
    assert.deepEqual(refused, { retryAfterMs: 40_000, isBusy: false });
    assert.match((await counted('vigil_refusals_total', 'code="VIGIL_ERR_OCSP_THROTTLED"')) ?? '', / 1$/);
    answerOf(await ocsp.answer(request('7a1b2c3d'), '2001:db8:1:2::1'));
    nowMs += 40_000;
    answerOf(await ocsp.answer(request('7a1b2c3d'), CLIENT));
  });

  it('still serves a throttled client what is cached, and a nonce request the cached answer without its nonce', async () => {
    fresh();
    const ocsp = responder(1);
    const cached = answerOf(await ocsp.answer(request(GOOD), CLIENT));
    assert.deepEqual(answerOf(await ocsp.answer(request(GOOD), CLIENT)).der, cached.der);
    const withNonce = await ocsp.answer(request(GOOD, Buffer.alloc(16, 3)), CLIENT);
    assert.deepEqual(answerOf(withNonce).der, cached.der);
    assert.ok('retryAfterMs' in (await ocsp.answer(request(OTHER, Buffer.alloc(16, 4)), CLIENT)));
  });

  it('holds fresh signatures for all clients together to the global budget, without charging the client it turns away', async () => {
    fresh();
    const ocsp = responder(1, { refusalsPerWindow: 2, windowMs: 10_000, maxKeys: 1 });
    const cached = answerOf(await ocsp.answer(request(GOOD), '192.0.2.1'));
    answerOf(await ocsp.answer(request(OTHER), '192.0.2.2'));
    nowMs += 4_000;
    assert.deepEqual(await ocsp.answer(request('7a1b2c3d'), '192.0.2.3'), {
      retryAfterMs: 6_000,
      isBusy: true,
    });
    assert.match((await counted('vigil_refusals_total', 'code="VIGIL_ERR_OCSP_THROTTLED"')) ?? '', / 1$/);
    // What is cached needs no signature: still served, with or without a nonce.
    assert.deepEqual(answerOf(await ocsp.answer(request(GOOD), '192.0.2.3')).der, cached.der);
    assert.deepEqual(
      answerOf(await ocsp.answer(request(GOOD, Buffer.alloc(16, 5)), '192.0.2.3')).der,
      cached.der,
    );
    nowMs += 6_000;
    // Its network's budget of one a minute is untouched by the refusal.
    assert.equal(answerOf(await ocsp.answer(request('7a1b2c3d'), '192.0.2.3')).responseStatus, 'successful');
  });

  it('answers internalError when the store fails, and keeps nothing', async () => {
    fresh();
    const failing = new OcspResponder({
      devices: {
        certificateStatus: async () => {
          throw new Error('database is locked');
        },
      },
      ca,
      clock: () => nowMs,
    });
    const outcome = answerOf(await failing.answer(request(GOOD), CLIENT));
    assert.equal(outcome.responseStatus, 'internalError');
    assert.equal(answerOf(await failing.answer(request(GOOD), CLIENT)).responseStatus, 'internalError');
  });
});
