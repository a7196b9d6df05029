import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { Lifetime, type ProcessLike } from './lifetime.ts';

/** A fake of the process: signals are emitted by the test, exit() and stderr are recorded. */
function fakeProcess() {
  const emitter = new EventEmitter();
  const stderr: string[] = [];
  let settleExit: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => {
    settleExit = resolve;
  });
  const exits: number[] = [];
  const proc: ProcessLike = {
    on: (event, listener) => emitter.on(event, listener),
    exit: (code) => {
      exits.push(code);
      settleExit(code);
    },
    stderr: { write: (text) => stderr.push(text) },
  };
  return {
    proc,
    stderr,
    exits,
    exited,
    signal: (name: 'SIGINT' | 'SIGTERM') => emitter.emit(name, name),
  };
}

const never = () => new Promise<void>(() => {});

describe('a long-running command stopped by a signal', () => {
  it('closes what start-up opened, last opened first, and exits 0', async () => {
    const fake = fakeProcess();
    const life = new Lifetime(fake.proc);
    const closed: string[] = [];
    await life.start(async () => {
      life.onStop('the server', async () => void closed.push('server'));
      life.onStop('the fleet', async () => void closed.push('fleet'));
      life.onStop('the summary', () => void closed.push('summary'));
    });
    fake.signal('SIGINT');
    assert.equal(await fake.exited, 0);
    assert.deepEqual(closed, ['summary', 'fleet', 'server']);
    assert.deepEqual(fake.stderr, ['\nstopping…\n']);
  });

  it('says in one line what could not be stopped, still closes the rest, and exits 1', async () => {
    const fake = fakeProcess();
    const life = new Lifetime(fake.proc);
    const closed: string[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await life.start(async () => {
        life.onStop('the server', async () => void closed.push('server'));
        life.onStop('the simulated fleet', async () => {
          throw new Error('broker gone\n    at Fleet.stop (fleet.ts:1:1)');
        });
      });
      fake.signal('SIGTERM');
      assert.equal(await fake.exited, 1);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(closed, ['server'], 'the server closes although the fleet did not stop');
    const report = fake.stderr.slice(1).join('');
    assert.equal(report, 'vigil: could not stop the simulated fleet: broker gone\n');
    assert.deepEqual(unhandled, []);
  });

  it('aborts a start-up under way, waits for it to give up, then closes what it had opened', async () => {
    const fake = fakeProcess();
    const life = new Lifetime(fake.proc);
    const events: string[] = [];
    let reachedProvisioning: () => void = () => {};
    const provisioning = new Promise<void>((resolve) => {
      reachedProvisioning = resolve;
    });
    const started = life.start(async () => {
      life.onStop('the server', async () => void events.push('server closed'));
      reachedProvisioning();
      // A step that notices the signal only at its end, as an enrolment in flight does.
      await new Promise<void>((resolve) => life.signal.addEventListener('abort', () => resolve()));
      await new Promise((r) => setTimeout(r, 20));
      events.push('step ended');
      life.signal.throwIfAborted();
      events.push('went on after the signal');
    });
    await provisioning;
    fake.signal('SIGINT');
    await started;
    assert.equal(await fake.exited, 0);
    assert.deepEqual(events, ['step ended', 'server closed']);
  });

  it('reports a start-up that failed for another reason after the signal, and exits 1', async () => {
    const fake = fakeProcess();
    const life = new Lifetime(fake.proc);
    const started = life.start(async () => {
      await new Promise<void>((resolve) => life.signal.addEventListener('abort', () => resolve()));
      throw new Error('enrolment refused: token expired');
    });
    fake.signal('SIGINT');
    await started;
    assert.equal(await fake.exited, 1);
    assert.equal(fake.stderr.at(-1), 'vigil: start-up failed: enrolment refused: token expired\n');
  });

  it('closes what a start-up that failed on its own had opened, and passes its error on', async () => {
    const fake = fakeProcess();
    const life = new Lifetime(fake.proc);
    const closed: string[] = [];
    await assert.rejects(
      life.start(async () => {
        life.onStop('the server', async () => void closed.push('server'));
        throw new Error('port 8443 in use');
      }),
      /port 8443 in use/,
    );
    assert.deepEqual(closed, ['server']);
    assert.deepEqual(fake.exits, [], 'main reports the error and chooses the exit code');
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`exits at once with ${code} on a second ${signal} while stopping hangs`, async () => {
      const fake = fakeProcess();
      const life = new Lifetime(fake.proc);
      await life.start(async () => life.onStop('the server', never));
      fake.signal(signal);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(fake.exits, []);
      fake.signal(signal);
      assert.equal(await fake.exited, code);
    });
  }
});
