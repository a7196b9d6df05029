import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { SECURE_DELETE_PRAGMA } from './secure-delete.ts';

/**
 * Moves WAL checkpoints off the ingest thread. SQLite's automatic checkpoint runs inside
 * whichever commit crosses the threshold, copying and fsyncing the whole WAL while every
 * device waiting on that commit waits too; that is the tail of the publish-to-commit latency.
 * Here a worker thread with its own connection checkpoints on a timer (PASSIVE: it never
 * blocks writers), and the main connection stops checkpointing by itself.
 *
 * PASSIVE alone cannot bound the WAL under sustained ingest: SQLite reuses the WAL from its
 * start only after a checkpoint that copied every frame, and a commit lands during nearly
 * every pass. In `npm run bench` the WAL reached 295 MB in 14 s at peak and kept growing at a
 * quarter of it. Past `restartBytes` the worker follows its PASSIVE pass with a RESTART: the
 * frames left to copy are few by then, and the next commit writes from the WAL's start.
 * Writers wait for that short copy, and at most RESTART_WAIT_MS more for readers on older
 * snapshots (a long export, say); if those are still reading, it tries again on a later tick.
 * Measured in paired `npm run bench -- --only e2e` runs, the cap cost no throughput.
 *
 * The worker is plain JavaScript evaluated from a string so it runs the same from tsx and from
 * the built dist/ without a loader.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
db.pragma(workerData.secureDelete);
const restartFrames = Math.ceil(workerData.restartBytes / db.pragma('page_size', { simple: true }));
const tick = () => {
  try {
    const [pass] = db.pragma('wal_checkpoint(PASSIVE)');
    if (pass.log > restartFrames) {
      db.pragma('busy_timeout = ' + workerData.restartWaitMs);
      try { db.pragma('wal_checkpoint(RESTART)'); } finally { db.pragma('busy_timeout = 1000'); }
    }
  } catch (e) { parentPort.postMessage({ error: String(e && e.message || e) }); }
};
const timer = setInterval(tick, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m === 'stop') { clearInterval(timer); tick(); db.close(); parentPort.postMessage({ stopped: true }); }
});
`;

const DEFAULT_RESTART_BYTES = 128 * 1024 * 1024;
const RESTART_WAIT_MS = 20;

export interface WalCheckpointer {
  stop(): Promise<void>;
}

export function startWalCheckpointer(
  main: BetterSqlite3.Database,
  opts: { everyMs?: number; restartBytes?: number; onError?: (message: string) => void } = {},
): WalCheckpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      driver,
      file: main.name,
      everyMs: opts.everyMs ?? 250,
      restartBytes: opts.restartBytes ?? DEFAULT_RESTART_BYTES,
      restartWaitMs: RESTART_WAIT_MS,
      secureDelete: SECURE_DELETE_PRAGMA,
    },
  });
  main.pragma('wal_autocheckpoint = 0');
  let stopped = false;
  let exited = false;
  const restoreAutomatic = () => {
    if (main.open) main.pragma('wal_autocheckpoint = 1000');
  };
  worker.on('message', (m: { error?: string }) => {
    if (m.error) opts.onError?.(m.error);
  });
  // Should the worker die, SQLite's own checkpointing takes over so the WAL cannot grow unbounded.
  worker.on('error', (e) => {
    opts.onError?.(e.message);
    restoreAutomatic();
  });
  worker.on('exit', () => {
    exited = true;
    if (!stopped) restoreAutomatic();
  });
  worker.unref();
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (stopped || exited) {
          stopped = true;
          return resolve();
        }
        stopped = true;
        // Keep the process alive until the worker has closed its connection.
        worker.ref();
        worker.once('exit', () => {
          restoreAutomatic();
          resolve();
        });
        worker.once('message', () => void worker.terminate());
        worker.postMessage('stop');
      }),
  };
}
