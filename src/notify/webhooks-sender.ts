import { type LookupAddress, lookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isForbiddenAddress, isLoopbackHost } from './webhooks-url.ts';

export interface SendResult {
  /** HTTP status, or null when no response came (network error, timeout). */
  status: number | null;
  /** Retry-After of a 429 or 503, in ms, when the receiver gave one (RFC 9110 §10.2.3). */
  retryAfterMs: number | null;
  error: string | null;
}

/**
 * A resolver that refuses addresses a webhook must not reach, checked on the address actually
 * connected to: a name registered as public may later resolve to 169.254.169.254 or, without
 * the loopback allowance, to 127.0.0.1 (DNS rebinding).
 */
export function guardedLookup(allowLoopback: boolean): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const bad = addresses.find(
        (a) => isForbiddenAddress(a.address) || (!allowLoopback && isLoopbackHost(a.address)),
      );
      if (bad) {
        const e = Object.assign(new Error(`${hostname} resolves to a refused address`), {
          code: 'EREFUSEDADDR',
        });
        return callback(e, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first)
        return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

export function parseRetryAfter(value: string | undefined, nowMs: number): number | null {
  if (value === undefined) return null;
  const v = value.trim();
  if (/^[0-9]{1,9}$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

/**
 * One POST, no redirects followed (a 3xx is a failure: following it would bypass the URL
 * checks), response body drained and ignored, the whole exchange bounded by `timeoutMs`.
 */
export function sendWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: { timeoutMs: number; allowLoopback: boolean; signal: AbortSignal },
): Promise<SendResult> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(
      target,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'Vigil-Webhooks/1',
        },
        lookup: guardedLookup(opts.allowLoopback),
        signal: opts.signal,
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? null,
            retryAfterMs: parseRetryAfter(res.headers['retry-after'], Date.now()),
            error: null,
          }),
        );
        res.on('error', (e) =>
          resolve({ status: res.statusCode ?? null, retryAfterMs: null, error: e.message }),
        );
      },
    );
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    req.on('close', () => clearTimeout(timer));
    req.on('error', (e: NodeJS.ErrnoException) =>
      resolve({ status: null, retryAfterMs: null, error: e.code ? `${e.code}: ${e.message}` : e.message }),
    );
    req.end(body);
  });
}
