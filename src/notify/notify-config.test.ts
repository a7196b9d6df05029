import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/config.ts';

const load = (env: Record<string, string>) =>
  loadConfig({ env: { VIGIL_DATA_DIR: '/tmp/vigil-notify-config', ...env } });

describe('notification settings in the configuration', () => {
  it('has no e-mail, no public URL and https-only webhooks by default', () => {
    const c = load({});
    assert.deepEqual(
      [c.smtpUrl, c.mailFrom, c.publicUrl, c.webhooksAllowLoopbackHttp],
      [undefined, undefined, undefined, false],
    );
  });

  it('takes an SMTP URL with a sender, and a public URL without its trailing slash', () => {
    const c = load({
      VIGIL_SMTP_URL: 'smtps://vigil:secret@mail.hospital.example',
      VIGIL_MAIL_FROM: 'vigil@hospital.example',
      VIGIL_PUBLIC_URL: 'https://vigil.hospital.example/',
      VIGIL_WEBHOOKS_ALLOW_LOOPBACK_HTTP: 'true',
    });
    assert.equal(c.mailFrom, 'vigil@hospital.example');
    assert.equal(c.publicUrl, 'https://vigil.hospital.example');
    assert.equal(c.webhooksAllowLoopbackHttp, true);
  });

  it('refuses an SMTP URL without a sender, and never repeats the SMTP password', () => {
    assert.throws(() => load({ VIGIL_SMTP_URL: 'smtp://mail.hospital.example' }), /VIGIL_MAIL_FROM is not/);
    assert.throws(
      () =>
        load({ VIGIL_SMTP_URL: 'http://vigil:hunter2hunter2@mail.example', VIGIL_MAIL_FROM: 'v@h.example' }),
      (e: Error) => /scheme http:/.test(e.message) && !e.message.includes('hunter2'),
    );
  });

  it('refuses a bad sender, an http public URL and a yes/no that is neither', () => {
    assert.throws(
      () => load({ VIGIL_MAIL_FROM: 'not an address' }),
      /VIGIL_MAIL_FROM=not an address is not an e-mail/,
    );
    assert.throws(() => load({ VIGIL_PUBLIC_URL: 'http://vigil.example' }), /has scheme http:/);
    assert.throws(() => load({ VIGIL_WEBHOOKS_ALLOW_LOOPBACK_HTTP: 'maybe' }), /not a yes\/no value/);
  });
});
