/**
 * One writer at a time between the threads of this process that share the SQLite file: the
 * event loop's connection (Kysely; its writes only, see gated-connection.ts) and the ingest
 * writer's (observation-writer.worker.ts).
 *
 * SQLite serialises writers itself, but a connection that finds the lock taken sleeps inside
 * its busy handler (1, 2, 5, 10 ms...): on the event loop that sleep stops TLS, MQTT and HTTP
 * for every device, and measured at half peak it held the loop for about 5% of the time, in
 * stalls of several ms, each one straight into the PUBACK tail. So the threads take turns here
 * first: the event loop waits for its turn asynchronously (Atomics.waitAsync) and never sleeps,
 * the writer thread blocks (it has nothing else to do). The writer steps aside while the event
 * loop is waiting, so a stream of commits cannot starve it. Other processes (the CLI) still meet
 * SQLite's own lock and busy timeout.
 */
const LOCK = 0;
/** Set while the event loop waits for its turn. */
const WANTED = 1;
const FREE = 0;
const HELD = 1;
/** How long the writer thread yields to a waiting event loop before it competes again. */
const YIELD_MS = 50;

type WaitAsync = (
  cell: Int32Array,
  index: number,
  value: number,
  timeoutMs?: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export class WriteGate {
  readonly shared: SharedArrayBuffer;
  private readonly cells: Int32Array;

  constructor(shared: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.shared = shared;
    this.cells = new Int32Array(shared);
  }

  /** For the event loop: resolves once this thread holds the gate; never blocks the thread. */
  async acquire(): Promise<void> {
    if (Atomics.compareExchange(this.cells, LOCK, FREE, HELD) === FREE) return;
    Atomics.store(this.cells, WANTED, 1);
    // A pending waitAsync is not a handle to Node: with the writer thread unref'd while idle,
    // nothing else may keep the event loop running, and it would end with this wait unresolved.
    const keepAlive = setInterval(() => {}, 60_000);
    try {
      while (Atomics.compareExchange(this.cells, LOCK, FREE, HELD) !== FREE) {
        // Bounded: the lock is looked at again every YIELD_MS whatever wakes (or fails to wake) us.
        const wait = waitAsync(this.cells, LOCK, HELD, YIELD_MS);
        if (wait.async) await wait.value;
      }
    } finally {
      clearInterval(keepAlive);
    }
    Atomics.store(this.cells, WANTED, 0);
    Atomics.notify(this.cells, WANTED);
  }

  /**
   * For a worker thread: blocks until it holds the gate, at most `timeoutMs`. False when it gave
   * up: the caller then writes anyway and SQLite's busy timeout decides, as between processes.
   */
  acquireBlocking(timeoutMs: number): boolean {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (Atomics.load(this.cells, WANTED) === 1) Atomics.wait(this.cells, WANTED, 1, YIELD_MS);
      if (Atomics.compareExchange(this.cells, LOCK, FREE, HELD) === FREE) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.cells, LOCK, HELD, Math.min(left, YIELD_MS));
    }
  }

  release(): void {
    Atomics.store(this.cells, LOCK, FREE);
    Atomics.notify(this.cells, LOCK);
  }

  /** Runs `work` holding the gate (blocking: worker threads only). */
  withBlocking<T>(timeoutMs: number, work: () => T): T {
    const held = this.acquireBlocking(timeoutMs);
    try {
      return work();
    } finally {
      if (held) this.release();
    }
  }
}
