import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { WriteGate } from './write-gate.ts';

/** A thread that takes the gate's lock cell as the writer thread does, and lets go when told. */
const HOLDER = `
const { parentPort, workerData } = require('node:worker_threads');
const cells = new Int32Array(workerData);
while (Atomics.compareExchange(cells, 0, 0, 1) !== 0) Atomics.wait(cells, 0, 1, 50);
parentPort.postMessage('held');
parentPort.on('message', () => {
  Atomics.store(cells, 0, 0);
  Atomics.notify(cells, 0);
  parentPort.postMessage('released');
  parentPort.close();
});
`;

function holder(gate: WriteGate): Promise<{ worker: Worker; released: Promise<void> }> {
  const worker = new Worker(HOLDER, { eval: true, workerData: gate.shared });
  let onReleased: () => void = () => {};
  const released = new Promise<void>((r) => {
    onReleased = r;
  });
  return new Promise((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (m) => {
      if (m === 'held') resolve({ worker, released });
      if (m === 'released') onReleased();
    });
  });
}

describe('write gate', () => {
  it('lets the event loop in at once when no thread writes', async () => {
    const gate = new WriteGate();
    await gate.acquire();
    gate.release();
    await gate.acquire();
    gate.release();
  });

  it('makes the event loop wait for a writing thread without blocking it', async () => {
    const gate = new WriteGate();
    const { worker, released } = await holder(gate);
    let acquired = false;
    const waiting = gate.acquire().then(() => {
      acquired = true;
    });
    // The loop keeps turning while it waits: this immediate runs, and the gate is not ours yet.
    await new Promise((r) => setImmediate(r));
    assert.equal(acquired, false);
    worker.postMessage('release');
    await released;
    await waiting;
    assert.equal(acquired, true);
    gate.release();
    await worker.terminate();
  });

  it('gives a blocked writer back control after its timeout instead of waiting forever', async () => {
    const gate = new WriteGate();
    await gate.acquire();
    assert.equal(gate.acquireBlocking(5), false);
    gate.release();
    assert.equal(gate.acquireBlocking(5), true);
    gate.release();
  });

  it('runs work holding the gate and frees it even when the work throws', () => {
    const gate = new WriteGate();
    assert.throws(() =>
      gate.withBlocking(5, () => {
        throw new Error('write failed');
      }),
    );
    assert.equal(gate.acquireBlocking(5), true);
    gate.release();
  });

  it("keeps the process alive while it waits for an unref'd writer thread", async () => {
    // The writer thread is unref'd when idle; a wait for the gate must not let the event loop
    // drain (Node would exit with the top-level await unsettled, code 13).
    const script = `
      import { Worker } from 'node:worker_threads';
      import { WriteGate } from ${JSON.stringify(new URL('./write-gate.ts', import.meta.url).href)};
      const gate = new WriteGate();
      const worker = new Worker(
        "const { workerData } = require('node:worker_threads');" +
          'const cells = new Int32Array(workerData);' +
          'Atomics.store(cells, 0, 1);' +
          'setTimeout(() => { Atomics.store(cells, 0, 0); Atomics.notify(cells, 0); }, 300);',
        { eval: true, workerData: gate.shared },
      );
      worker.unref();
      while (Atomics.load(new Int32Array(gate.shared), 0) === 0) await new Promise((r) => setImmediate(r));
      await gate.acquire();
      console.log('acquired');
    `;
    const dir = mkdtempSync(join(tmpdir(), 'vigil-gate-'));
    const file = join(dir, 'wait-for-gate.mts');
    writeFileSync(file, script);
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', file], { timeout: 20_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      );
    });
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual({ code: out.code, stdout: out.stdout }, { code: 0, stdout: 'acquired\n' }, out.stderr);
  });
});
