/**
 * OCSP answers per second, in process: what the answer cache saves a public responder that
 * anyone can ask. `node --import tsx bench/ocsp.ts [--answers N]`, also a phase of
 * `npm run bench`.
 *
 * A real device CA and a real SQLite device store in a temp dir; N requests without a nonce,
 * each for a different serial, answered once (each a store lookup and an ECDSA signature: the
 * cost before the cache, and still the cost of a cache miss or a nonce request) and then again
 * (each from the cache). HTTP and TLS are left out: they cost the same either way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { DeviceStore } from '../src/devices/devices.store.ts';
import { EnrollThrottle } from '../src/devices/enroll-throttle.ts';
import { OcspResponder } from '../src/devices/ocsp-responder.ts';
import { createDeviceCa } from '../src/pki/index.ts';
import { ocspRequestDer } from '../src/pki/ocsp-test-support.ts';
import { openStore } from '../src/store/database.ts';

export interface OcspBenchResult {
  answers: number;
  signedPerSecond: number;
  cachedPerSecond: number;
}

export async function runOcspBench(opts: { answers: number }): Promise<OcspBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-ocsp-'));
  const store = await openStore({ dataDir: dir });
  try {
    const ca = await createDeviceCa({ organization: 'Bench' });
    const responder = new OcspResponder({
      devices: new DeviceStore(store.db),
      ca,
      // The bench is one client asking as fast as it can: the throttle would stop it at 600.
      throttle: new EnrollThrottle({
        refusalsPerWindow: Number.MAX_SAFE_INTEGER,
        windowMs: 60_000,
        maxKeys: 1,
      }),
    });
    const requests = Array.from({ length: opts.answers }, (_, i) =>
      ocspRequestDer([{ issuerPem: ca.issuing.certPem, serialHex: `7e${i.toString(16).padStart(8, '0')}` }]),
    );
    // Loads the signer and warms the JIT on a serial that is not timed.
    await responder.answer(ocspRequestDer([{ issuerPem: ca.issuing.certPem, serialHex: '7f' }]), 'bench');
    const perSecond = async () => {
      const t0 = performance.now();
      for (const der of requests) await responder.answer(der, 'bench');
      return opts.answers / ((performance.now() - t0) / 1000);
    };
    const signedPerSecond = await perSecond();
    const cachedPerSecond = await perSecond();
    return { answers: opts.answers, signedPerSecond, cachedPerSecond };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatOcsp(r: OcspBenchResult): string {
  const line = (what: string, perSecond: number) =>
    `  ${what.padEnd(38)}${Math.round(perSecond).toLocaleString('en-US').padStart(8)} answers/s  ${(1000 / perSecond).toFixed(3)} ms each`;
  return [
    '',
    `OCSP responder, in process, ${r.answers.toLocaleString('en-US')} requests without a nonce, one serial each, SQLite store`,
    line('signed (store lookup + ECDSA)', r.signedPerSecond),
    line('from the cache', r.cachedPerSecond),
    `  ratio cached / signed: ${(r.cachedPerSecond / r.signedPerSecond).toFixed(1)}×`,
    '',
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--answers');
  const answers = at > 0 ? Number(process.argv[at + 1]) : 5000;
  // More distinct requests than the cache holds (OCSP_CACHE_MAX_BYTES) would time misses twice.
  if (!Number.isInteger(answers) || answers < 100 || answers > 8000) {
    process.stderr.write('bench/ocsp: --answers must be a whole number from 100 to 8000\n');
    process.exit(2);
  }
  runOcspBench({ answers })
    .then((r) => process.stdout.write(formatOcsp(r)))
    .catch((e: unknown) => {
      process.stderr.write(`bench/ocsp failed: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    });
}
