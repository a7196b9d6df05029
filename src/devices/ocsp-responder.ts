import { Counter, type Registry } from 'prom-client';
import {
  answerOcspRequest,
  type DeviceCa,
  loadOcspSigner,
  type OcspAnswer,
  type OcspSigner,
  ocspRequestFromGetPath,
  unsignedAnswer,
} from '../pki/index.ts';
import type { DeviceStore } from './devices.store.ts';

/** Where the server answers OCSP requests (POST, or GET with the request in the path). */
export const OCSP_PATH = '/api/v1/pki/ocsp';

/**
 * The device CA's OCSP responder (src/pki/ocsp.ts) on top of the device store: each answer is
 * read from the certificates table as the request arrives, so a revocation is answered at once,
 * with no list to re-sign first. A quarantined device's certificate is answered good: quarantine
 * is Vigil's own, reversible policy, enforced by its gateway, not a revocation, which is final
 * (RFC 5280 §3.3): a certificate answered revoked could not be answered good after a release.
 */
export class OcspResponder {
  private signer: Promise<OcspSigner> | undefined;
  private readonly responses: Counter<'status'>;
  private readonly certificates: Counter<'status'>;

  constructor(
    private readonly deps: {
      devices: Pick<DeviceStore, 'certificateStatus'>;
      ca: DeviceCa;
      /** Where the counters go (/metrics); none when not given. */
      registry?: Registry;
      clock?: () => number;
    },
  ) {
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
  }

  /** Answers a DER OCSPRequest (the body of a POST). Never throws. */
  async answer(requestDer: Uint8Array): Promise<OcspAnswer> {
    const nowMs = (this.deps.clock ?? Date.now)();
    let answer: OcspAnswer;
    try {
      answer = await answerOcspRequest(
        requestDer,
        await this.loadSigner(nowMs),
        (serials) => this.deps.devices.certificateStatus(serials),
        { nowMs },
      );
    } catch (cause) {
      // Only loading the signer throws (answerOcspRequest does not): the CA key is unusable.
      answer = { ...unsignedAnswer('internalError'), problem: 'the issuing CA cannot sign', cause };
    }
    this.count(answer);
    return answer;
  }

  /** Answers the GET form: the request base64-encoded in the path (RFC 6960 Appendix A.1). */
  answerFromPath(encoded: string): Promise<OcspAnswer> {
    let der: Uint8Array;
    try {
      der = ocspRequestFromGetPath(encoded);
    } catch (cause) {
      const problem = `the OCSP request ${cause instanceof Error ? cause.message : String(cause)}`;
      const answer = { ...unsignedAnswer('malformedRequest'), problem, cause };
      this.count(answer);
      return Promise.resolve(answer);
    }
    return this.answer(der);
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

  private count(answer: OcspAnswer): void {
    this.responses.inc({ status: answer.responseStatus });
    for (const status of answer.certStatuses) this.certificates.inc({ status });
  }
}
