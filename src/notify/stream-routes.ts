import websocket from '@fastify/websocket';
import type { FastifyRequest } from 'fastify';
import type { ApiTokens } from '../access/api-tokens.ts';
import { can, type Permission } from '../access/roles.ts';
import { SESSION_COOKIE } from '../access/session-cookie.ts';
import type { Identity, SessionAuthenticator } from '../access/session-guard.ts';
import { VigilError } from '../errors/catalogue.ts';
import type { App } from '../server/http.ts';
import type { ConnectionInit } from './stream-connection.ts';
import type { StreamHub } from './stream-hub.ts';
import { helloFrame } from './stream-messages.ts';
import { parseStreamQuery, STREAM_TOPICS, type StreamTopic } from './stream-query.ts';

export interface StreamRouteDeps {
  hub: StreamHub;
  tokens: ApiTokens;
  sessions: SessionAuthenticator;
}

/** What each topic needs; readings and alerts also pass the patient gate per patient. */
export const TOPIC_PERMISSION: Readonly<Record<StreamTopic, Permission>> = {
  readings: 'observations:read',
  alerts: 'alerts:read',
  security: 'security:read',
};

/** A client sends nothing the protocol needs; a few KiB is plenty for anything it might. */
const MAX_CLIENT_FRAME_BYTES = 4096;

/** Whether the caller holds the permission through its role and, for a token, its scopes. */
export function grants(identity: Identity, permission: Permission): boolean {
  if (!can(identity.role, permission)) return false;
  return identity.kind !== 'token' || identity.scopes === undefined || identity.scopes.includes(permission);
}

/**
 * `WebSocket /api/v1/stream` (briefs/stream-protocol.md). Everything that can be refused is
 * refused before the upgrade, as a problem document: credentials (the HTTP guard), the query,
 * the Origin of a cookie-authenticated request, topics the role may not see, and a full house.
 */
export async function registerStreamRoutes(app: App, deps: StreamRouteDeps): Promise<void> {
  await app.register(websocket, {
    options: { maxPayload: MAX_CLIENT_FRAME_BYTES },
    // A client's bad frame is the client's fault: noted, not logged as a server error.
    errorHandler: (error, socket, request) => {
      request.log.info(
        { code: (error as { code?: string }).code },
        'live stream closed on a bad client frame',
      );
      socket.terminate();
    },
  });
  const prepared = new WeakMap<FastifyRequest, ConnectionInit>();

  app.route({
    method: 'GET',
    url: '/api/v1/stream',
    config: { access: { anyPermission: Object.values(TOPIC_PERMISSION) } },
    schema: {
      summary:
        'Live stream (WebSocket): readings, alert changes and security events as JSON frames; query patient (repeatable, at most 50) and topics=readings,alerts,security',
      security: [{ bearer: [] }, { sessionCookie: [] }],
    },
    preHandler: async (request) => {
      const init = prepare(request, deps);
      if (request.ws) prepared.set(request, init);
    },
    handler: async () => {
      throw new VigilError(
        'VIGIL_ERR_STREAM_UPGRADE_REQUIRED',
        'open /api/v1/stream as a WebSocket (wss://), e.g. new WebSocket("wss://host/api/v1/stream")',
      );
    },
    wsHandler: (socket, request) => {
      const init = prepared.get(request);
      if (!init) {
        socket.close(1011, 'not prepared');
        return;
      }
      const conn = deps.hub.attach(socket, init);
      // Sent in the same tick as attach, so no event frame can come before it.
      conn.sendRaw(helloFrame([...init.topics], init.patients ? [...init.patients] : null));
    },
  });
}

function prepare(request: FastifyRequest, deps: StreamRouteDeps): ConnectionInit {
  const identity = request.identity;
  if (!identity) throw new VigilError('VIGIL_ERR_AUTH_REQUIRED', 'sign in or send a bearer token');
  const url = request.raw.url ?? '';
  const q = url.indexOf('?');
  const query = parseStreamQuery(q < 0 ? '' : url.slice(q + 1));
  // A page on another site can open a WebSocket to us and the browser adds our cookie
  // (cross-site WebSocket hijacking); only our own pages may stream on the session cookie.
  if (request.ws && identity.kind === 'user') {
    const own = `https://${request.headers.host ?? ''}`;
    if (request.headers.origin !== own) {
      throw new VigilError(
        'VIGIL_ERR_STREAM_ORIGIN',
        `Origin ${JSON.stringify(String(request.headers.origin ?? '(none)').slice(0, 100))} is not ${own}; open the stream from Vigil's own dashboard`,
      );
    }
  }
  const allowed = STREAM_TOPICS.filter((t) => grants(identity, TOPIC_PERMISSION[t]));
  for (const t of query.topics ?? []) {
    if (!allowed.includes(t)) {
      throw new VigilError(
        'VIGIL_ERR_AUTH_FORBIDDEN',
        `topic ${t} needs permission ${TOPIC_PERMISSION[t]}, which ${identity.actor} lacks`,
      );
    }
  }
  if (request.ws && deps.hub.size >= deps.hub.limits.maxConnections) {
    throw new VigilError(
      'VIGIL_ERR_STREAM_OVERLOADED',
      `${deps.hub.limits.maxConnections} streams are open; retry later`,
    );
  }
  return {
    identity,
    topics: new Set(query.topics ?? allowed),
    patients: query.patients ? new Set(query.patients) : null,
    source: request.ip,
    reauthenticate: reauthenticator(request, identity, deps),
  };
}

/** Checks the same credentials again later: a logout, expiry or revocation ends the stream. */
function reauthenticator(
  request: FastifyRequest,
  identity: Identity,
  deps: StreamRouteDeps,
): () => Promise<Identity> {
  if (identity.kind === 'token') {
    const token = (request.headers.authorization ?? '').slice('Bearer '.length).trim();
    return () => deps.tokens.verify(token);
  }
  const headers = { cookie: `${SESSION_COOKIE}=${identity.sessionId}` };
  return async () => {
    const again = await deps.sessions.authenticate({ method: 'GET', headers }, { touch: false });
    if (again.stage !== 'full') {
      throw new VigilError('VIGIL_ERR_AUTH_SETUP_REQUIRED', 'the session is no longer fully signed in');
    }
    return again;
  };
}
