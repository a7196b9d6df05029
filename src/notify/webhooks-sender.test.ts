import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sendWebhook } from './webhooks-sender.ts';

describe('webhook sender', () => {
  let server: http.Server;
  let port = 0;
  const seen: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        seen.push({ headers: req.headers, body });
        if (req.url === '/slow') return; // never answers: the timeout must end it
        res.statusCode = req.url === '/busy' ? 429 : 204;
        if (req.url === '/busy') res.setHeader('retry-after', '7');
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const send = (path: string, allowLoopback: boolean, host = '127.0.0.1', timeoutMs = 5000) =>
    sendWebhook(`http://${host}:${port}${path}`, { 'webhook-id': 'msg_1' }, '{"a":1}', {
      timeoutMs,
      allowLoopback,
      signal: new AbortController().signal,
    });

  it('posts the JSON body with the given headers and reports the status', async () => {
    assert.deepEqual(await send('/ok', true), { status: 204, retryAfterMs: null, error: null });
    const last = seen.at(-1);
    assert.equal(last?.body, '{"a":1}');
    assert.equal(last?.headers['webhook-id'], 'msg_1');
    assert.equal(last?.headers['content-type'], 'application/json');
  });

  it('passes on Retry-After', async () => {
    assert.deepEqual(await send('/busy', true), { status: 429, retryAfterMs: 7000, error: null });
  });

  it('refuses a name that resolves to loopback unless loopback is allowed (DNS rebinding)', async () => {
    assert.equal((await send('/ok', true, 'localhost')).status, 204);
    const refused = await send('/ok', false, 'localhost');
    assert.equal(refused.status, null);
    assert.match(refused.error ?? '', /EREFUSEDADDR/);
  });

  it('gives up on a receiver that does not answer in time', async () => {
    const r = await send('/slow', true, '127.0.0.1', 200);
    assert.equal(r.status, null);
    assert.match(r.error ?? '', /no answer within 200 ms/);
  });
});
