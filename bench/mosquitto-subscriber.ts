/**
 * The Mosquitto reference's subscriber, run as its own process: in the load generator's event
 * loop it would be starved by 200 publisher sockets and the reference would measure that, not
 * Mosquitto. It subscribes at QoS 1 and counts deliveries; over IPC the parent asks for the
 * running count ("count") and finally tells it to leave ("stop").
 *
 * Started by mosquitto-reference.ts with: node --import tsx bench/mosquitto-subscriber.ts,
 * the connection settings as JSON in VIGIL_BENCH_SUBSCRIBER.
 */
import type { DeviceCredentials } from './load-generator.ts';
import { closeClients, connectClient } from './load-generator.ts';

export interface SubscriberSettings {
  url: string;
  topic: string;
  credentials: DeviceCredentials | undefined;
  receiveMaximum: number;
}

export type SubscriberRequest = { cmd: 'count' } | { cmd: 'stop' };
export type SubscriberReply =
  | { kind: 'ready' }
  | { kind: 'count'; delivered: number }
  | { kind: 'error'; message: string };

function reply(message: SubscriberReply): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const raw = process.env.VIGIL_BENCH_SUBSCRIBER;
  if (!raw || !process.send) throw new Error('run by mosquitto-reference.ts only');
  const settings = JSON.parse(raw) as SubscriberSettings;
  const client = await connectClient(settings.url, 'bench-subscriber', settings.credentials, {
    properties: { receiveMaximum: settings.receiveMaximum },
  });
  let delivered = 0;
  client.on('message', () => {
    delivered += 1;
  });
  await client.subscribeAsync(settings.topic, { qos: 1 });
  process.on('message', (m: SubscriberRequest) => {
    if (m.cmd === 'count') reply({ kind: 'count', delivered });
    else
      void closeClients([client]).then(() => {
        process.disconnect();
        process.exit(0);
      });
  });
  // The parent going away ends the subscriber too.
  process.on('disconnect', () => process.exit(0));
  reply({ kind: 'ready' });
}

main().catch((e: unknown) => {
  reply({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
