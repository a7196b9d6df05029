import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../errors/catalogue.ts';
import { loadConfig } from './config.ts';

const cwd = '/srv/vigil';
const refusal = (pattern: RegExp) => (e: unknown) =>
  isVigilError(e) && e.code === 'VIGIL_ERR_CONFIG_INVALID' && pattern.test(e.detail);

describe('configuration', () => {
  it('has secure, working defaults', () => {
    const c = loadConfig({ cwd });
    assert.equal(c.httpPort, 8443);
    assert.equal(c.mqttPort, 8883);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.dataDir, '/srv/vigil/vigil-data');
    assert.equal(c.masterKeyFile, '/srv/vigil/vigil-data/master.key');
    assert.equal(c.databaseUrl, undefined);
    assert.ok(Object.isFrozen(c));
  });

  it('takes flags over environment over file over defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-config-'));
    const file = join(dir, 'vigil.json');
    writeFileSync(file, JSON.stringify({ httpPort: 9000, mqttPort: 9001, host: 'file.example' }));
    const c = loadConfig({
      cwd,
      configFile: file,
      env: { VIGIL_MQTT_PORT: '9101', VIGIL_HOST: 'env.example' },
      flags: { host: 'flag.example' },
    });
    assert.equal(c.httpPort, 9000);
    assert.equal(c.mqttPort, 9101);
    assert.equal(c.host, 'flag.example');
  });

  it('names the variable, the bad value and the fix', () => {
    assert.throws(
      () => loadConfig({ env: { VIGIL_MQTT_PORT: '99999' } }),
      refusal(/^VIGIL_MQTT_PORT=99999 is not a port \(1-65535/),
    );
  });

  it('refuses a database URL of another kind', () => {
    assert.throws(
      () => loadConfig({ env: { VIGIL_DATABASE_URL: 'mysql://x' } }),
      refusal(/VIGIL_DATABASE_URL.*postgres:/),
    );
  });

  it('takes a syslog URL over UDP, TCP or TLS and refuses any other', () => {
    assert.equal(loadConfig({ env: { VIGIL_SYSLOG_URL: 'tcp://siem:6514' } }).syslogUrl, 'tcp://siem:6514');
    assert.throws(
      () => loadConfig({ env: { VIGIL_SYSLOG_URL: 'http://siem' } }),
      refusal(/VIGIL_SYSLOG_URL.*udp:/),
    );
    assert.throws(() => loadConfig({ env: { VIGIL_SYSLOG_URL: 'not a url' } }), refusal(/VIGIL_SYSLOG_URL/));
  });

  it('refuses a TLS certificate without its key', () => {
    assert.throws(() => loadConfig({ env: { VIGIL_TLS_CERT: '/etc/cert.pem' } }), refusal(/go together/));
  });

  it('refuses unknown fields in a config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-config-'));
    const file = join(dir, 'vigil.json');
    writeFileSync(file, JSON.stringify({ httpPrt: 1 }));
    assert.throws(() => loadConfig({ configFile: file }), refusal(/unknown field "httpPrt"/));
  });

  it('refuses a config file that is not JSON, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-config-'));
    const file = join(dir, 'vigil.json');
    writeFileSync(file, '{ nope');
    assert.throws(() => loadConfig({ configFile: file }), refusal(/vigil\.json is not valid JSON/));
  });

  it('validates ingest tuning in the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-config-'));
    const file = join(dir, 'vigil.json');
    writeFileSync(file, JSON.stringify({ ingest: { groupCommitMs: -1 } }));
    assert.throws(() => loadConfig({ configFile: file }), refusal(/ingest\.groupCommitMs.*0 to 1000/));
  });

  it('never throws anything but a configuration error for any environment', () => {
    fc.assert(
      fc.property(
        fc.record({
          VIGIL_HTTP_PORT: fc.option(fc.string(), { nil: undefined }),
          VIGIL_MQTT_PORT: fc.option(fc.string(), { nil: undefined }),
          VIGIL_HOST: fc.option(fc.string(), { nil: undefined }),
          VIGIL_DATABASE_URL: fc.option(fc.string(), { nil: undefined }),
          VIGIL_LOG_LEVEL: fc.option(fc.string(), { nil: undefined }),
        }),
        (env) => {
          try {
            loadConfig({ env, cwd });
          } catch (e) {
            assert.ok(isVigilError(e), String(e));
          }
        },
      ),
    );
  });
});
