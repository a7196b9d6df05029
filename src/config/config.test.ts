import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../errors/catalogue.ts';
import { loadConfig, MAX_CONFIG_FILE_BYTES, parsePort, redactUrl } from './config.ts';

const cwd = '/srv/vigil';
const refusal = (pattern: RegExp) => (e: unknown) =>
  isVigilError(e) && e.code === 'VIGIL_ERR_CONFIG_INVALID' && pattern.test(e.detail);
const detailOf = (load: () => unknown): string => {
  try {
    load();
  } catch (e) {
    assert.ok(isVigilError(e), String(e));
    return e.detail;
  }
  assert.fail('the configuration was accepted');
};
const configFile = (content: unknown): string => {
  const file = join(mkdtempSync(join(tmpdir(), 'vigil-config-')), 'vigil.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
};
const URL_FIELDS = {
  databaseUrl: 'VIGIL_DATABASE_URL',
  mqttUrl: 'VIGIL_MQTT_URL',
  syslogUrl: 'VIGIL_SYSLOG_URL',
  publicUrl: 'VIGIL_PUBLIC_URL',
} as const;

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
          VIGIL_NOTIFY_RETENTION_DAYS: fc.option(fc.string(), { nil: undefined }),
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

describe('configuration errors about URLs', () => {
  it('never print the password of a refused database URL', () => {
    for (const value of [
      'pg://vigil:Hunter2@db/vigil',
      'postgresql://vigil:Hunter2@db.internal:5432x/vigil',
      'postgres://db:54x/vigil?password=Hunter2',
    ]) {
      const detail = detailOf(() => loadConfig({ cwd, env: { VIGIL_DATABASE_URL: value } }));
      assert.match(detail, /^VIGIL_DATABASE_URL=/);
      assert.doesNotMatch(detail, /Hunter2/);
    }
  });

  it('still name the host and scheme, so the mistake can be found', () => {
    const detail = detailOf(() =>
      loadConfig({ cwd, env: { VIGIL_DATABASE_URL: 'pg://vigil:Hunter2@db/vigil' } }),
    );
    assert.equal(detail, 'VIGIL_DATABASE_URL=pg://***@db/vigil has scheme pg:; use postgres: or postgresql:');
  });

  it('never print a password from a URL field in the config file, whatever its type', () => {
    for (const [field, env] of Object.entries(URL_FIELDS)) {
      for (const value of ['ftp://u:Hunter2@host/', ['mqtts://u:Hunter2@broker'], { url: 'x://Hunter2@y' }]) {
        const fromFile = detailOf(() => loadConfig({ cwd, configFile: configFile({ [field]: value }) }));
        assert.match(fromFile, new RegExp(`^${field}`));
        assert.doesNotMatch(fromFile, /Hunter2/);
      }
      const fromEnv = detailOf(() =>
        loadConfig({ cwd, env: { [env]: 'mqtt://vigil:Hunter2@broker.internal' } }),
      );
      assert.doesNotMatch(fromEnv, /Hunter2/);
    }
  });

  it('redaction removes any user info or query, parseable or not (property)', () => {
    const secret = fc.string({ minLength: 1, maxLength: 30 }).map((s) => `S3CR3T${s}`);
    const piece = fc.string({ maxLength: 20 });
    fc.assert(
      fc.property(piece, secret, piece, piece, fc.boolean(), (scheme, password, host, path, inQuery) => {
        const value = inQuery
          ? `${scheme}://${host}/${path}?password=${password}`
          : `${scheme}://user:${password}@${host}/${path}`;
        const shown = redactUrl(value);
        assert.ok(!shown.includes('S3CR3T'), shown);
        for (const env of Object.values(URL_FIELDS)) {
          try {
            loadConfig({ cwd, env: { [env]: value } });
          } catch (e) {
            assert.ok(isVigilError(e), String(e));
            assert.ok(!e.detail.includes('S3CR3T'), e.detail);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('redaction keeps a URL without credentials as it is', () => {
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: false, withFragments: false }), (value) => {
        fc.pre(!value.includes('@'));
        assert.equal(redactUrl(value), value);
      }),
    );
  });
});

describe('configuration: ports', () => {
  it('refuses ports that are not plain decimal digits', () => {
    for (const value of ['0x1F', '0b11', '0o17', '1e3', '80.0', '08443', ' 443 ', '+443', '-0', '٤٤٣']) {
      assert.throws(
        () => loadConfig({ cwd, env: { VIGIL_HTTP_PORT: value } }),
        refusal(/^VIGIL_HTTP_PORT=.* is not a port/),
        JSON.stringify(value),
      );
    }
    assert.throws(
      () => loadConfig({ cwd, flags: { httpPort: '0x10' } }),
      refusal(/^--http-port 0x10 is not a port/),
    );
  });

  it('refuses a port in the config file that is an array or a non-decimal string', () => {
    assert.throws(
      () => loadConfig({ cwd, configFile: configFile({ httpPort: [8443] }) }),
      refusal(/^httpPort: \[8443\] is not a port/),
    );
    assert.throws(
      () => loadConfig({ cwd, configFile: configFile({ mqttPort: '0x22B3' }) }),
      refusal(/^mqttPort: "0x22B3" is not a port/),
    );
    assert.throws(
      () => loadConfig({ cwd, configFile: configFile({ mqttPort: 1.5 }) }),
      refusal(/is not a port/),
    );
  });

  it('takes a JSON integer or decimal digits, 0 meaning any free port', () => {
    assert.equal(
      loadConfig({ cwd, configFile: configFile({ httpPort: 9443, mqttPort: '0' }) }).httpPort,
      9443,
    );
    assert.equal(loadConfig({ cwd, env: { VIGIL_MQTT_PORT: '0' } }).mqttPort, 0);
    assert.equal(loadConfig({ cwd, flags: { httpPort: '65535' } }).httpPort, 65535);
  });

  it('parses exactly the decimal numbers 0-65535 (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), (n) => {
        assert.equal(parsePort(String(n)), n);
        assert.equal(parsePort(n), n);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), (s) => {
        const n = parsePort(s);
        if (n === undefined) return;
        assert.match(s, /^(0|[1-9][0-9]*)$/);
        assert.equal(String(n), s);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 65536 }), fc.integer({ max: -1 }), (big, negative) => {
        assert.equal(parsePort(String(big)), undefined);
        assert.equal(parsePort(big), undefined);
        assert.equal(parsePort(negative), undefined);
      }),
    );
  });
});

describe('configuration: ingest section', () => {
  it('refuses names inherited from Object.prototype as unknown fields, not with a crash', () => {
    for (const key of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const file = configFile(`{"ingest":{"${key}":5}}`);
      assert.throws(() => loadConfig({ cwd, configFile: file }), refusal(/is an unknown field/), key);
    }
  });
});

describe('configuration: enrolment throttle', () => {
  it('allows 10 refused enrolments a minute per source unless told otherwise', () => {
    assert.equal(loadConfig({ cwd }).enrollRefusalsPerMinute, 10);
    assert.equal(
      loadConfig({ cwd, env: { VIGIL_ENROLL_REFUSALS_PER_MINUTE: '250' } }).enrollRefusalsPerMinute,
      250,
    );
    const file = configFile({ enrollRefusalsPerMinute: 40 });
    assert.equal(loadConfig({ cwd, configFile: file }).enrollRefusalsPerMinute, 40);
  });

  it('refuses anything but a whole number from 1 to 10000, naming the variable', () => {
    for (const value of ['0', '10001', '1e2', '0x10', ' 5', '-1', '2.5', 'many']) {
      assert.match(
        detailOf(() => loadConfig({ cwd, env: { VIGIL_ENROLL_REFUSALS_PER_MINUTE: value } })),
        /^VIGIL_ENROLL_REFUSALS_PER_MINUTE=.* must be a whole number from 1 to 10000; set one in decimal digits$/,
        value,
      );
    }
    assert.match(
      detailOf(() => loadConfig({ cwd, configFile: configFile({ enrollRefusalsPerMinute: 2.5 }) })),
      /^enrollRefusalsPerMinute: 2\.5 must be a whole number/,
    );
  });
});

describe('configuration: notification retention', () => {
  it('keeps finished notification rows 30 days unless told otherwise', () => {
    assert.equal(loadConfig({ cwd }).notifyRetentionDays, 30);
    assert.equal(loadConfig({ cwd, env: { VIGIL_NOTIFY_RETENTION_DAYS: '7' } }).notifyRetentionDays, 7);
    const file = configFile({ notifyRetentionDays: 365 });
    assert.equal(loadConfig({ cwd, configFile: file }).notifyRetentionDays, 365);
    assert.equal(
      loadConfig({ cwd, configFile: file, env: { VIGIL_NOTIFY_RETENTION_DAYS: '90' } }).notifyRetentionDays,
      90,
    );
  });

  it('takes exactly the whole numbers from 1 to 3650 (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3650 }), (days) => {
        const env = { VIGIL_NOTIFY_RETENTION_DAYS: String(days) };
        assert.equal(loadConfig({ cwd, env }).notifyRetentionDays, days);
      }),
    );
  });

  it('refuses anything else, naming the variable and the range', () => {
    for (const value of ['0', '3651', '1e2', '0x10', ' 5', '-1', '2.5', '030', 'forever']) {
      assert.match(
        detailOf(() => loadConfig({ cwd, env: { VIGIL_NOTIFY_RETENTION_DAYS: value } })),
        /^VIGIL_NOTIFY_RETENTION_DAYS=.* must be a whole number from 1 to 3650; set one in decimal digits$/,
        value,
      );
    }
    for (const value of [2.5, '3.0', null, 0, [30]]) {
      assert.match(
        detailOf(() => loadConfig({ cwd, configFile: configFile({ notifyRetentionDays: value }) })),
        /^notifyRetentionDays: .* must be a whole number from 1 to 3650/,
        String(value),
      );
    }
  });
});

describe('configuration: the config file itself', () => {
  it('refuses /dev/zero at once instead of reading it until memory runs out', () => {
    assert.throws(
      () => loadConfig({ configFile: '/dev/zero', cwd }),
      refusal(/^config file \/dev\/zero is a device, not a file; give the path of a regular file$/),
    );
  });

  it('refuses a named pipe without waiting for a writer', () => {
    const fifo = join(mkdtempSync(join(tmpdir(), 'vigil-config-')), 'fifo');
    execFileSync('mkfifo', [fifo]);
    assert.throws(() => loadConfig({ configFile: fifo, cwd }), refusal(/fifo is a named pipe, not a file/));
  });

  it('refuses a config file over 1 MiB, naming the limit', () => {
    const file = configFile(`{"host": "a"${' '.repeat(MAX_CONFIG_FILE_BYTES)}}`);
    assert.throws(() => loadConfig({ configFile: file, cwd }), refusal(/is larger than 1 MiB/));
  });

  it('says a missing config file does not exist', () => {
    assert.throws(
      () => loadConfig({ configFile: '/nonexistent/vigil.json', cwd }),
      refusal(/^config file \/nonexistent\/vigil\.json does not exist; check the path$/),
    );
  });
});

describe('configuration: hosts', () => {
  it('refuses a syslog, MQTT or database URL that names no host', () => {
    for (const [name, value] of [
      ['VIGIL_SYSLOG_URL', 'udp://'],
      ['VIGIL_SYSLOG_URL', 'tls:///'],
      ['VIGIL_MQTT_URL', 'mqtts://'],
      ['VIGIL_DATABASE_URL', 'postgres:///vigil'],
    ] as const) {
      assert.throws(
        () => loadConfig({ env: { [name]: value }, cwd }),
        refusal(/names no host/),
        `${name}=${value}`,
      );
    }
  });

  it('takes a database on a Unix socket named by ?host=', () => {
    const value = 'postgres:///vigil?host=/run/postgresql';
    assert.equal(loadConfig({ env: { VIGIL_DATABASE_URL: value }, cwd }).databaseUrl, value);
  });

  it('takes IP addresses and DNS names as VIGIL_HOST', () => {
    for (const host of [
      '127.0.0.1',
      '0.0.0.0',
      '::',
      '::1',
      'localhost',
      'vigil.example.org',
      'a-b.c1',
      '1a',
    ]) {
      assert.equal(loadConfig({ env: { VIGIL_HOST: host }, cwd }).host, host);
    }
  });

  it('refuses a VIGIL_HOST that is neither', () => {
    for (const host of [
      'a..b',
      '.a',
      'a.',
      '-a',
      'a-',
      'a_b',
      '10.0.0.256',
      '1.2.3',
      `${'a'.repeat(64)}.org`,
      ':::',
    ]) {
      assert.throws(
        () => loadConfig({ env: { VIGIL_HOST: host }, cwd }),
        refusal(/^VIGIL_HOST=.* is not a host name or IP address/),
        host,
      );
    }
  });

  it('takes exactly the DNS names of valid labels as VIGIL_HOST (property)', () => {
    const letter = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
    const inner = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-');
    const label = fc
      .tuple(letter, fc.array(inner, { maxLength: 61 }), letter)
      .map(([a, mid, z]) => `${a}${mid.join('')}${z}`);
    const name = fc
      .array(label, { minLength: 1, maxLength: 5 })
      .map((ls) => [...ls, 'org'].join('.'))
      .filter((n) => n.length <= 253);
    fc.assert(
      fc.property(name, (host) => {
        assert.equal(loadConfig({ env: { VIGIL_HOST: host }, cwd }).host, host);
      }),
    );
    // The same names broken: an empty label, a label of 64, a character outside the set.
    const broken = fc.oneof(
      name.map((n) => n.replace('.', '..')),
      name.map((n) => `${'x'.repeat(64)}.${n}`),
      fc.tuple(name, fc.constantFrom('_', ' ', '/', '@', '!', '*')).map(([n, c]) => `${c}${n}`),
    );
    fc.assert(
      fc.property(broken, (host) => {
        assert.throws(() => loadConfig({ env: { VIGIL_HOST: host }, cwd }), refusal(/VIGIL_HOST/));
      }),
    );
  });
});
