/**
 * Starting a server process on loopback for a measurement or a test: a free port to hand it,
 * and a wait until it accepts connections.
 */
import { createConnection, createServer } from 'node:net';

/** A free loopback port (closed again at once; the server to start binds it right after). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Resolves once 127.0.0.1:port accepts a TCP connection. Rejects after `timeoutMs`, or at once
 * when `exited` says the server is gone; `log` (its stderr, say) is added to either error.
 */
export async function waitForListener(
  port: number,
  opts: { name: string; timeoutMs: number; exited?: () => boolean; log?: () => string },
): Promise<void> {
  const why = () => (opts.log ? `: ${opts.log()}` : '');
  const deadline = performance.now() + opts.timeoutMs;
  while (performance.now() < deadline) {
    if (opts.exited?.()) throw new Error(`${opts.name} exited${why()}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = createConnection({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${opts.name} did not listen on 127.0.0.1:${port} within ${opts.timeoutMs} ms${why()}`);
}
