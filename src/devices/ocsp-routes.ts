import { createHash } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { VigilError } from '../errors/catalogue.ts';
import { MAX_OCSP_REQUEST_BYTES, type OcspAnswer } from '../pki/index.ts';
import type { App } from '../server/http.ts';
import { sourceNetworkOf } from '../server/source-network.ts';
import {
  DEFAULT_OCSP_GLOBAL_THROTTLE,
  DEFAULT_OCSP_THROTTLE,
  OCSP_PATH,
  type OcspOutcome,
  type OcspResponder,
} from './ocsp-responder.ts';

const OCSP_REQUEST = 'application/ocsp-request';
const OCSP_RESPONSE = 'application/ocsp-response';

const OcspRequestBody = Type.Unsafe<Buffer>({
  type: 'string',
  format: 'binary',
  description: `DER OCSPRequest (RFC 6960 §4.1.1), at most ${MAX_OCSP_REQUEST_BYTES} bytes`,
});
const OcspResponseBody = Type.Unsafe<Buffer>({
  type: 'string',
  format: 'binary',
  description:
    'DER OCSPResponse, also for malformedRequest and internalError (RFC 6960 Appendix A.1: HTTP 200 whatever the OCSP status)',
});

/**
 * Public, as the CRL is: relying parties ask without credentials (RFC 6960 Appendix A.1). In a
 * plugin of its own, so its body parser (raw DER, at most MAX_OCSP_REQUEST_BYTES) applies here
 * and to no other route.
 */
export function registerOcspRoutes(app: App, responder: OcspResponder): void {
  void app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(OCSP_REQUEST, { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    );

    scope.post(
      OCSP_PATH,
      {
        config: { access: { public: true } },
        bodyLimit: MAX_OCSP_REQUEST_BYTES,
        // Before the body is read: anything but a DER request is refused unread.
        onRequest: async (request) => {
          const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
          if (type !== OCSP_REQUEST) {
            throw new VigilError(
              'VIGIL_ERR_REQUEST_MEDIA_TYPE',
              `send the DER OCSPRequest as ${OCSP_REQUEST} (RFC 6960 Appendix A.1), not ${type ?? 'without a Content-Type'}`,
            );
          }
        },
        // The body schema documents the DER for OpenAPI; JSON Schema cannot check bytes, so the
        // parser's Buffer is the check, and ocsp-request.ts reads it.
        validatorCompiler: () => (body: unknown) =>
          Buffer.isBuffer(body) ? { value: body } : { error: new Error('the body is not a DER OCSPRequest') },
        schema: {
          summary: 'Device CA OCSP responder: a DER OCSPRequest in, a signed OCSPResponse out (RFC 6960)',
          consumes: [OCSP_REQUEST],
          body: OcspRequestBody,
          produces: [OCSP_RESPONSE],
          response: { 200: OcspResponseBody },
        },
      },
      async (request, reply) => {
        // The validator above let only a Buffer through; the type provider does not carry that here.
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const answer = answered(await responder.answer(body, clientOf(request)), reply);
        // A POST answer is made for one request; no cache should hand it to another client.
        return send(request, reply.header('cache-control', 'no-store'), answer);
      },
    );

    scope.get(
      `${OCSP_PATH}/*`,
      {
        config: { access: { public: true } },
        schema: {
          summary:
            'Device CA OCSP responder, GET form: the base64 DER OCSPRequest, URL-encoded, as the rest of the path (RFC 6960 Appendix A.1); cacheable until nextUpdate',
          params: Type.Object({ '*': Type.String() }),
          produces: [OCSP_RESPONSE],
          response: { 200: OcspResponseBody },
        },
      },
      async (request, reply) => {
        const answer = answered(
          await responder.answerFromPath(request.params['*'], clientOf(request)),
          reply,
        );
        const { thisUpdateMs, nextUpdateMs } = answer;
        if (thisUpdateMs === undefined || nextUpdateMs === undefined) {
          void reply.header('cache-control', 'no-store');
        } else {
          // RFC 5019 §6.2: an HTTP cache may keep an answer until its nextUpdate, and no longer.
          const maxAgeSeconds = Math.max(0, Math.floor((nextUpdateMs - Date.now()) / 1000));
          void reply
            .header('cache-control', `public, max-age=${maxAgeSeconds}, no-transform, must-revalidate`)
            .header('last-modified', new Date(thisUpdateMs).toUTCString())
            .header('expires', new Date(nextUpdateMs).toUTCString())
            // RFC 5019 §6.2 suggests a hash of the answer: one answer served from the cache keeps one tag.
            .header('etag', `"${createHash('sha256').update(answer.der).digest('base64url').slice(0, 27)}"`);
        }
        return send(request, reply, answer);
      },
    );
  });
}

/** The network a client's fresh signatures count against, as enrolment attempts are counted. */
function clientOf(request: FastifyRequest): string {
  return sourceNetworkOf(request.raw.socket.remoteAddress);
}

/**
 * The answer to send, or 429 for a client that has had its fresh signatures for the minute:
 * a problem document like every refusal, logged through the app's refusal log sampler.
 */
function answered(outcome: OcspOutcome, reply: FastifyReply): OcspAnswer {
  if ('answer' in outcome) return outcome.answer;
  const seconds = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000));
  void reply.header('retry-after', String(seconds)).header('cache-control', 'no-store');
  const budget = outcome.isBusy ? DEFAULT_OCSP_GLOBAL_THROTTLE : DEFAULT_OCSP_THROTTLE;
  const who = outcome.isBusy ? 'all clients together' : 'this network';
  throw new VigilError(
    'VIGIL_ERR_OCSP_THROTTLED',
    `${who} asked for more than ${budget.refusalsPerWindow} freshly signed OCSP answers in ${budget.windowMs / 1000} s (nonce requests and requests not answered from the cache); ask without a nonce, or try again in ${seconds} s`,
  );
}

function send(request: FastifyRequest, reply: FastifyReply, answer: OcspAnswer): FastifyReply {
  if (answer.responseStatus === 'internalError') {
    request.log.error({ err: answer.cause }, answer.problem ?? 'OCSP internal error');
  } else if (answer.responseStatus === 'malformedRequest' && request.server.refusalLog.admit('ocsp')) {
    // Thinned as other refusals are: a scanner posting garbage cannot fill the log.
    request.log.info({ ocspStatus: answer.responseStatus }, answer.problem ?? 'malformed OCSP request');
  }
  return reply.type(OCSP_RESPONSE).send(answer.der);
}
