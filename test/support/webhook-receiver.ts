import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  /** The request path, so one receiver can stand for several subscriptions. */
  path: string;
  id: string;
  timestamp: string;
  signature: string;
  body: string;
}

export interface Receiver {
  /** http://127.0.0.1:<port>/hook; any other path on the port is received too. */
  url: string;
  received: Received[];
  state: { answer: (r: Received) => number };
  close(): Promise<void>;
}

/** The receiver's check, from the spec: HMAC-SHA256 keyed by the base64 after whsec_. */
export function signatureValid(secret: string, r: Received): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${r.id}.${r.timestamp}.${r.body}`).digest('base64');
  return r.signature.split(' ').includes(`v1,${expected}`);
}

/** A webhook receiver on loopback that records every request and answers `state.answer` (204). */
export function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const state = { answer: (_r: Received): number => 204 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      const r: Received = {
        path: req.url ?? '',
        id: String(req.headers['webhook-id']),
        timestamp: String(req.headers['webhook-timestamp']),
        signature: String(req.headers['webhook-signature']),
        body,
      };
      received.push(r);
      res.statusCode = state.answer(r);
      res.end();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/hook`,
        received,
        state,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}
