import { Counter, type Registry } from 'prom-client';
import {
  type DeviceCa,
  type IssuedCertificateStatus,
  loadOcspSigner,
  lookUpStatuses,
  type OcspAnswer,
  type OcspQuestion,
  type OcspSigner,
  ocspRequestFromGetPath,
  readOcspQuestion,
  signOcspAnswer,
  unsignedAnswer,
} from '../pki/index.ts';
import type { DeviceStore } from './devices.store.ts';
import { EnrollThrottle, type EnrollThrottlePolicy } from './enroll-throttle.ts';
import { type CachedOcspAnswer, OcspAnswerCache } from './ocsp-answer-cache.ts';

/** Where the server answers OCSP requests (POST, or GET with the request in the path). */
export const OCSP_PATH = '/api/v1/pki/ocsp';

/**
 * Freshly signed answers (nonce requests and cache misses) one client network may ask for in a
 * minute. Ten a second is far above what a relying party asking about its own peers needs once
 * their answers are cached, and keeps one client to under a hundredth of a core (a signed
 * answer costs about 0.8 ms with its store lookup, a cached one 0.15 ms: bench/ocsp.ts). The
 * counting is enrolment's (enroll-throttle.ts): per IPv4 address or IPv6 /64, in fixed
 * one-minute windows, in memory and so per process; a signature is never taken back. Cached
 * answers are not counted: they cost what parsing the request costs.
 */
export const DEFAULT_OCSP_THROTTLE: Readonly<EnrollThrottlePolicy> = Object.freeze({
  refusalsPerWindow: 600,
  windowMs: 60_000,
  maxKeys: 10_000,
});

/**
 * Freshly signed answers all clients together may ask for in a minute, on top of each network's
 * DEFAULT_OCSP_THROTTLE: many addresses (a botnet, or spoofed IPv6 networks past the throttle's
 * key limit) could otherwise keep a core signing. 6,000 a minute is 100 a second, under a tenth
 * of a core (bench/ocsp.ts), and more than a relying party checking every certificate of a
 * 20,000-device fleet once per cached answer's life asks for. Cached answers are still served
 * past it: they need no signature.
 */
export const DEFAULT_OCSP_GLOBAL_THROTTLE: Readonly<EnrollThrottlePolicy> = Object.freeze({
  refusalsPerWindow: 6_000,
  windowMs: 60_000,
  maxKeys: 1,
});

/** The one key every request is counted under by the global budget. */
const EVERYONE = 'everyone';

export type OcspOutcome =
  | { answer: OcspAnswer; isCached: boolean }
  /**
   * Nothing signed fits the request and a signature is not to be had: the client's network has
   * had its signatures for this window, or all clients together have (`isBusy`).
   */
  | { retryAfterMs: number; isBusy: boolean };

/**
 * The device CA's OCSP responder (src/pki/ocsp.ts) on top of the device store. A quarantined
 * device's certificate is answered good: quarantine is Vigil's own, reversible policy, enforced
 * by its gateway, not a revocation, which is final (RFC 5280 §3.3): a certificate answered
 * revoked could not be answered good after a release.
 *
 * The responder is public and each fresh answer is an ECDSA signature, so answers are made
 * once and handed out again, as RFC 5019 responders do: a request without a nonce is answered
 * from OcspAnswerCache for up to OCSP_CACHE_MAX_AGE_MS, and `invalidate` (called wherever the
 * device directory reloads: a revocation, a renewal, a re-enrolment, the poll that notices
 * another process's change) makes each cached answer be checked against the store before it
 * is served again. A revocation this process learns of is thus never answered good from the
 * cache; one it does not (another Vigil process on PostgreSQL, which the SQLite data-version
 * poll cannot see) is answered within OCSP_CACHE_MAX_AGE_MS.
 *
 * A request with a nonce is signed for it, nonce echoed (RFC 8954), within the client's budget
 * of fresh signatures. Past the budget it gets the cached answer without its nonce if one
 * exists: the nonce is optional for a responder (RFC 5019 responders never echo one), and
 * `openssl ocsp` then warns "WARNING: no nonce in response" and still verifies the answer.
 * Only what would need a new signature is refused, with 429 and Retry-After.
 */
export class OcspResponder {
  private signer: Promise<OcspSigner> | undefined;
  private readonly cache: OcspAnswerCache;
  /** Answers being signed for requests without a nonce, by cache key; as many as requests in flight. */
  private readonly signing = new Map<string, { generation: number; answer: Promise<OcspAnswer> }>();
  private readonly throttle: EnrollThrottle;
  private readonly globalThrottle: EnrollThrottle;
  private readonly responses: Counter<'status'>;
  private readonly certificates: Counter<'status'>;
  private readonly answersBySource: Counter<'source'>;

  constructor(
    private readonly deps: {
      devices: Pick<DeviceStore, 'certificateStatus'>;
      ca: DeviceCa;
      /** Where the counters go (/metrics); none when not given. */
      registry?: Registry;
      /** vigil_refusals_total, where throttled requests are counted with the other refusals. */
      refusals?: Pick<Counter<'code'>, 'inc'>;
      /** Wall clock: it dates the answers and ages the cache. */
      clock?: () => number;
      cache?: OcspAnswerCache;
      /** Fresh signatures per client network. */
      throttle?: EnrollThrottle;
      /** Fresh signatures for all clients together. */
      globalThrottle?: EnrollThrottle;
    },
  ) {
    this.cache = deps.cache ?? new OcspAnswerCache();
    this.throttle = deps.throttle ?? new EnrollThrottle(DEFAULT_OCSP_THROTTLE);
    this.globalThrottle = deps.globalThrottle ?? new EnrollThrottle(DEFAULT_OCSP_GLOBAL_THROTTLE);
    const registers = deps.registry ? [deps.registry] : [];
    this.responses = new Counter({
      name: 'vigil_ocsp_responses_total',
      help: 'OCSP responses by responseStatus (successful, malformedRequest, internalError)',
      labelNames: ['status'],
      registers,
    });
    this.certificates = new Counter({
      name: 'vigil_ocsp_certificate_statuses_total',
      help: 'Certificates answered by the OCSP responder, by certStatus (good, revoked, unknown)',
      labelNames: ['status'],
      registers,
    });
    this.answersBySource = new Counter({
      name: 'vigil_ocsp_successful_answers_total',
      help: 'Successful OCSP answers by where they came from: signed for the request, or cached',
      labelNames: ['source'],
      registers,
    });
  }

  /** A certificate's status may have changed: no cached answer is served before the store agrees. */
  invalidate(): void {
    this.cache.invalidate();
  }

  /**
   * Answers a DER OCSPRequest (the body of a POST) from `client`, the network its fresh
   * signatures are counted against (sourceNetworkOf). Never throws.
   */
  async answer(requestDer: Uint8Array, client: string): Promise<OcspOutcome> {
    const nowMs = (this.deps.clock ?? Date.now)();
    let signer: OcspSigner;
    try {
      signer = await this.loadSigner(nowMs);
    } catch (cause) {
      return this.sent({ ...unsignedAnswer('internalError'), problem: 'the issuing CA cannot sign', cause });
    }
    const read = readOcspQuestion(requestDer, signer);
    if ('refused' in read) return this.sent(read.refused);
    const { question } = read;
    try {
      const cached = this.cache.get(question.cacheKey, nowMs);
      const served =
        cached && question.nonce === undefined ? await this.confirmed(question, cached) : undefined;
      if (served) return this.sent(served.answer, true);
      const pending = question.nonce === undefined ? this.signing.get(question.cacheKey) : undefined;
      // Joined only within one generation: a request after a revocation waits for no answer begun before it.
      if (pending && pending.generation === this.cache.generation)
        return this.sent(await pending.answer, true);
      const refusal = this.claimSignature(client);
      if (refusal) {
        const instead =
          cached && question.nonce !== undefined ? await this.confirmed(question, cached) : undefined;
        if (instead) return this.sent(instead.answer, true);
        this.deps.refusals?.inc({ code: 'VIGIL_ERR_OCSP_THROTTLED' });
        return refusal;
      }
      return this.sent(await this.signedOnce(question, signer, nowMs));
    } catch (cause) {
      return this.sent({ ...unsignedAnswer('internalError'), problem: 'the store cannot be read', cause });
    }
  }

  /** Counts a fresh signature for `client` against both budgets, or says how long to wait. */
  private claimSignature(client: string): { retryAfterMs: number; isBusy: boolean } | undefined {
    const claim = this.throttle.claim(client);
    if (!('attempt' in claim)) return { retryAfterMs: claim.retryAfterMs, isBusy: false };
    const overall = this.globalThrottle.claim(EVERYONE);
    if ('attempt' in overall) return undefined;
    // The client is not charged for a signature it did not get.
    this.throttle.release(claim.attempt);
    return { retryAfterMs: overall.retryAfterMs, isBusy: true };
  }

  /** Answers the GET form: the request base64-encoded in the path (RFC 6960 Appendix A.1). */
  answerFromPath(encoded: string, client: string): Promise<OcspOutcome> {
    let der: Uint8Array;
    try {
      der = ocspRequestFromGetPath(encoded);
    } catch (cause) {
      const problem = `the OCSP request ${cause instanceof Error ? cause.message : String(cause)}`;
      return Promise.resolve(this.sent({ ...unsignedAnswer('malformedRequest'), problem, cause }));
    }
    return this.answer(der, client);
  }

  /** Signs the answer; requests without a nonce asking the same meanwhile wait for this one signature. */
  private async signedOnce(question: OcspQuestion, signer: OcspSigner, nowMs: number): Promise<OcspAnswer> {
    if (question.nonce !== undefined) return this.signed(question, signer, nowMs);
    const key = question.cacheKey;
    const pending = { generation: this.cache.generation, answer: this.signed(question, signer, nowMs) };
    this.signing.set(key, pending);
    try {
      return await pending.answer;
    } finally {
      if (this.signing.get(key) === pending) this.signing.delete(key);
    }
  }

  /** Signs an answer from the store's statuses now, and keeps it for others if it has no nonce. */
  private async signed(question: OcspQuestion, signer: OcspSigner, nowMs: number): Promise<OcspAnswer> {
    // Taken before the store is read: an invalidation while this answer is made leaves it to be checked.
    const generation = this.cache.generation;
    const statuses = await this.statuses(question.serials);
    const answer = signOcspAnswer(question, signer, statuses, { nowMs });
    if (question.nonce === undefined && answer.responseStatus === 'successful') {
      this.cache.set(question.cacheKey, {
        answer,
        serials: question.serials,
        statuses,
        signedAtMs: nowMs,
        generation,
      });
    }
    return answer;
  }

  /**
   * The cached answer, if it may still be served: of the current generation, or confirmed by the
   * store to carry the statuses it was signed with. One whose statuses changed is dropped.
   */
  private async confirmed(
    question: OcspQuestion,
    cached: CachedOcspAnswer,
  ): Promise<CachedOcspAnswer | undefined> {
    if (cached.generation === this.cache.generation) return cached;
    const generation = this.cache.generation;
    const now = await this.statuses(cached.serials);
    if (cached.serials.every((serial) => isSameStatus(cached.statuses.get(serial), now.get(serial)))) {
      cached.generation = Math.max(cached.generation, generation);
      return cached;
    }
    this.cache.delete(question.cacheKey);
    return undefined;
  }

  private statuses(serials: readonly string[]): Promise<ReadonlyMap<string, IssuedCertificateStatus>> {
    return lookUpStatuses(serials, (s) => this.deps.devices.certificateStatus(s));
  }

  /** Loaded once; a failed load is not kept, so the next request tries again. */
  private loadSigner(nowMs: number): Promise<OcspSigner> {
    if (this.signer === undefined) {
      const loading = loadOcspSigner(this.deps.ca, new Date(nowMs));
      this.signer = loading;
      loading.catch(() => {
        if (this.signer === loading) this.signer = undefined;
      });
    }
    return this.signer;
  }

  private sent(answer: OcspAnswer, isCached = false): OcspOutcome {
    this.responses.inc({ status: answer.responseStatus });
    for (const status of answer.certStatuses) this.certificates.inc({ status });
    if (answer.responseStatus === 'successful')
      this.answersBySource.inc({ source: isCached ? 'cache' : 'signed' });
    return { answer, isCached };
  }
}

function isSameStatus(
  a: IssuedCertificateStatus | undefined,
  b: IssuedCertificateStatus | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.revokedAtMs === b.revokedAtMs && a.reason === b.reason;
}
