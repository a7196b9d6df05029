import assert from 'node:assert/strict';
import { type Harness, startHarness } from './vigil-harness.ts';
import { type Receiver, startReceiver } from './webhook-receiver.ts';

const MINUTE_MS = 60_000;

export interface WebhookHarness {
  h: Harness;
  receiver: Receiver;
  /** Subscribes `<receiver>/<path>` to the events and returns its signing secret. */
  subscribe(path: string, events: string[]): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A real Vigil sending webhooks to a receiver on loopback, with links to vigil.example.org. The
 * poll is set to a minute, so what arrives came from a kick or the catch-up at start.
 */
export async function startWebhookHarness(): Promise<WebhookHarness> {
  const receiver = await startReceiver();
  const h = await startHarness({
    env: { VIGIL_WEBHOOKS_ALLOW_LOOPBACK_HTTP: 'true', VIGIL_PUBLIC_URL: 'https://vigil.example.org' },
    start: { notify: { retryBaseMs: 10, pollMs: MINUTE_MS } },
  });
  return {
    h,
    receiver,
    async subscribe(path, events) {
      const r = await h.api('/api/v1/webhooks', {
        method: 'POST',
        body: { url: `${receiver.url}/${path}`, events },
      });
      assert.equal(r.status, 201, r.text);
      return (r.json as { secret: string }).secret;
    },
    async stop() {
      await h.stop();
      await receiver.close();
    },
  };
}
