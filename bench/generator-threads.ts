/**
 * The load generator spread over worker threads of the benchmark process. One Node thread
 * driving 200 TLS clients at half peak was busy enough that its own timers fired ~100 ms late
 * and PUBACKs waited in its socket buffers: the latency measured the generator as much as the
 * server. Each thread here owns a contiguous share of the devices (their own mqtt.js clients)
 * and runs the same loops as load-generator.ts; the shares' stats are merged from the raw
 * samples, so percentiles are exact over the whole fleet. The open loop keeps every device's
 * interval and staggers the phases across the whole fleet, as one thread would.
 */
import { Worker } from 'node:worker_threads';
import { onCleanup } from './cleanup.ts';
import type { ThreadRequest, ThreadStart } from './generator-thread.ts';
import { LatencyRecorder } from './latency.ts';
import type { ClientKind, DeviceCredentials, RunOptions, RunStats } from './load-generator.ts';

type Reply =
  | { ready: true; connected: number; cipher: string }
  | { stats: RunStats; acked: Array<readonly [string, number]> }
  | { closed: true }
  | { error: string };

interface Share {
  worker: Worker;
  firstIndex: number;
  size: number;
  next(): Promise<Reply>;
}

export interface ThreadedFleet {
  cipher: string;
  connected: number;
  /** Success PUBACKs per device over every run so far. */
  acked: Map<string, number>;
  runClosedLoop(opts: RunOptions & { inFlight: number }): Promise<RunStats>;
  runOpenLoop(opts: RunOptions & { messagesPerSecond: number; maxInFlight: number }): Promise<RunStats>;
  close(): Promise<void>;
}

function spawnShare(start: ThreadStart, firstIndex: number): Share {
  // The benchmark runs from source: register tsx in the thread before importing its entry.
  const entry = new URL('./generator-thread.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: start });
  const replies: Reply[] = [];
  const waiting: Array<{ resolve(r: Reply): void; reject(e: Error): void }> = [];
  worker.on('message', (r: Reply) => {
    const w = waiting.shift();
    if (w) w.resolve(r);
    else replies.push(r);
  });
  const fail = (e: Error) => {
    for (const w of waiting.splice(0)) w.reject(e);
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`generator thread exited with ${code}`)));
  return {
    worker,
    firstIndex,
    size: start.devices.length,
    next: () => {
      const r = replies.shift();
      if (r) return Promise.resolve(r);
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
  };
}

/** Connects the devices from `threads` worker threads, a contiguous share each. */
export async function connectThreadedPublishers(opts: {
  url: string;
  devices: ReadonlyArray<{ id: string; credentials?: DeviceCredentials }>;
  threads: number;
  client: ClientKind;
}): Promise<ThreadedFleet> {
  const per = Math.ceil(opts.devices.length / opts.threads);
  const shares: Share[] = [];
  for (let first = 0; first < opts.devices.length; first += per) {
    shares.push(
      spawnShare(
        { url: opts.url, client: opts.client, devices: opts.devices.slice(first, first + per) },
        first,
      ),
    );
  }
  const terminate = onCleanup('stop generator threads', async () => {
    await Promise.all(shares.map((s) => s.worker.terminate()));
  });
  const ready = await Promise.all(shares.map((s) => s.next())).catch(async (e: unknown) => {
    await terminate();
    throw e;
  });
  let cipher = 'none';
  let connected = 0;
  for (const r of ready) {
    if ('error' in r) throw new Error(r.error);
    if ('ready' in r) {
      cipher = r.cipher;
      connected += r.connected;
    }
  }
  const acked = new Map<string, number>();
  const fleetSize = opts.devices.length;
  const run = async (request: (share: Share) => ThreadRequest, hooks: RunOptions): Promise<RunStats> => {
    for (const s of shares) s.worker.postMessage(request(s));
    // The window hooks (CPU meter, metric scrapes) run here, on the same schedule as the threads.
    const window = (async () => {
      await sleep(hooks.warmupMs);
      hooks.onWindowStart?.();
      await sleep(hooks.measureMs);
      hooks.onWindowEnd?.();
    })();
    const replies = await Promise.all(shares.map((s) => s.next()));
    await window;
    const stats: RunStats[] = [];
    for (const r of replies) {
      if ('error' in r) throw new Error(`generator thread failed: ${r.error}`);
      if (!('stats' in r)) throw new Error('generator thread answered out of turn');
      stats.push(r.stats);
      for (const [id, n] of r.acked) acked.set(id, n);
    }
    return mergeStats(stats);
  };
  return {
    cipher,
    connected,
    acked,
    runClosedLoop: (o) => run(() => ({ kind: 'closed', opts: withoutHooks(o) }), o),
    runOpenLoop: (o) =>
      run(
        (s) => ({
          kind: 'open',
          opts: {
            ...withoutHooks(o),
            // Each share offers its part of the rate; every device keeps the fleet's interval.
            messagesPerSecond: (o.messagesPerSecond * s.size) / fleetSize,
            share: { firstIndex: s.firstIndex, fleetSize },
          },
        }),
        o,
      ),
    close: async () => {
      for (const s of shares) s.worker.postMessage({ kind: 'close' } satisfies ThreadRequest);
      await Promise.all(shares.map((s) => s.next().catch(() => undefined)));
      await terminate();
    },
  };
}

/** Functions do not cross to a thread; the hooks run here instead. */
function withoutHooks<T extends RunOptions>(o: T): Omit<T, 'onWindowStart' | 'onWindowEnd'> {
  const { onWindowStart: _start, onWindowEnd: _end, ...rest } = o;
  return rest;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Sums the shares' counts and recomputes the percentiles from their raw samples. */
export function mergeStats(parts: RunStats[]): RunStats {
  const latency = new LatencyRecorder();
  const lag = new LatencyRecorder(400_000);
  let hasLag = false;
  const refused: Record<string, number> = {};
  const sum = (f: (s: RunStats) => number) => parts.reduce((a, s) => a + f(s), 0);
  for (const s of parts) {
    for (const v of s.samples?.latency ?? []) latency.record(v);
    if (s.samples?.schedulerLag) {
      hasLag = true;
      for (const v of s.samples.schedulerLag) lag.record(v);
    }
    for (const [k, n] of Object.entries(s.refused)) refused[k] = (refused[k] ?? 0) + n;
  }
  const windowSeconds = Math.max(...parts.map((s) => s.windowSeconds));
  const ackedInWindow = sum((s) => s.ackedInWindow);
  return {
    windowSeconds,
    sent: sum((s) => s.sent),
    acked: sum((s) => s.acked),
    refused,
    errors: sum((s) => s.errors),
    ackedInWindow,
    messagesPerSecond: ackedInWindow / windowSeconds,
    latency: latency.summary(),
    unsettled: sum((s) => s.unsettled),
    ...(hasLag ? { schedulerLagMs: lag.summary(), skipped: sum((s) => s.skipped ?? 0) } : {}),
  };
}
