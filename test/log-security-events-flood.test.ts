/**
 * Anyone who can reach the MQTT port can make Vigil refuse them, as often as they like. The
 * running server (gateway and security events together, not either alone) must then log only
 * the first refusals of a code in a minute and one line saying how many more, while /metrics
 * still counts every one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import pino from 'pino';
import { loadConfig } from '../src/config/config.ts';
import { initDataDir } from '../src/server/provision.ts';
import { type RunningVigil, startVigil } from '../src/server/vigil.ts';

/** What LogSampler lets through per code and minute. */
const SAMPLED_PER_CODE = 20;
const CONNECTIONS = 60;

/** A TLS connection with no client certificate, which the broker refuses; resolves once closed. */
function connectWithoutCertificate(port: number, caPem: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca: caPem, servername: 'localhost' });
    socket.on('error', () => {});
    socket.on('close', () => resolve());
  });
}

async function refusalsCounted(vigil: RunningVigil): Promise<Map<string, number>> {
  const metric = await vigil.metrics.refusals.get();
  return new Map(metric.values.map((v) => [String(v.labels.code), v.value]));
}

describe('security event log lines under a flood of refusals', () => {
  let vigil: RunningVigil;
  let dataDir: string;
  const lines: Array<Record<string, unknown>> = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-log-flood-'));
    const config = loadConfig({
      env: { VIGIL_DATA_DIR: dataDir, VIGIL_HTTP_PORT: '0', VIGIL_MQTT_PORT: '0', VIGIL_LOG_LEVEL: 'silent' },
    });
    await initDataDir(config);
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    vigil = await startVigil(config, { log, pollMs: 100 });
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('logs twenty security events of one code, counts them all, and says how many it left out', async () => {
    for (let i = 0; i < CONNECTIONS; i++) await connectWithoutCertificate(vigil.mqttPort, vigil.caPem);
    const deadline = Date.now() + 10_000;
    let counted = new Map<string, number>();
    while (Date.now() < deadline) {
      counted = await refusalsCounted(vigil);
      if ([...counted.values()].reduce((a, b) => a + b, 0) >= CONNECTIONS) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(
      counted.size,
      1,
      `one refusal code expected, /metrics has ${[...counted.keys()].join(', ')}`,
    );
    const [code, total] = [...counted][0] ?? [];
    assert.equal(total, CONNECTIONS, 'every refusal is counted in /metrics');

    await vigil.stop();
    const security = lines.filter((l) => l.component === 'security');
    const events = security.filter((l) => l.code === code);
    assert.equal(events.length, SAMPLED_PER_CODE, `security lines for ${code}`);
    // Stopped within the minute: the count of what was held back is still said, once.
    const summaries = security.filter((l) => l.key === code);
    assert.deepEqual(
      summaries.map((s) => s.suppressed),
      [CONNECTIONS - SAMPLED_PER_CODE],
    );
    assert.equal(security.length, SAMPLED_PER_CODE + 1, 'security lines in all');
  });
});
