import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../errors/catalogue.ts';
import { parseSmtpUrl } from './email-smtp-url.ts';

describe('SMTP URL', () => {
  it('requires STARTTLS on smtp:// and defaults to the submission port', () => {
    assert.deepEqual(parseSmtpUrl('smtp://mail.example.org'), {
      host: 'mail.example.org',
      port: 587,
      secure: false,
      requireStartTls: true,
      auth: undefined,
    });
  });

  it('uses implicit TLS on smtps:// and port 465', () => {
    const s = parseSmtpUrl('smtps://vigil:p%40ss@mail.example.org');
    assert.deepEqual(
      [s.port, s.secure, s.requireStartTls, s.auth],
      [465, true, false, { user: 'vigil', pass: 'p@ss' }],
    );
  });

  it('drops TLS only when the URL opts out, and never with a password', () => {
    assert.equal(parseSmtpUrl('smtp://127.0.0.1:2525?tls=off').requireStartTls, false);
    assert.throws(() => parseSmtpUrl('smtp://u:p@127.0.0.1:2525?tls=off'), /tls=off/);
    assert.throws(() => parseSmtpUrl('smtps://127.0.0.1?tls=off'), /unknown option/);
    assert.throws(() => parseSmtpUrl('smtp://127.0.0.1?tls=no'), /unknown option/);
  });

  it('refuses other schemes, paths and half credentials', () => {
    assert.throws(() => parseSmtpUrl('http://mail.example.org'), /scheme http:/);
    assert.throws(() => parseSmtpUrl('smtp://mail.example.org/inbox'), /path/);
    assert.throws(() => parseSmtpUrl('smtp://user@mail.example.org'), /without a password/);
    assert.throws(() => parseSmtpUrl('nonsense'), /not a URL/);
  });

  it('never repeats the password in an error, whatever else is wrong', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9]{12,24}$/),
        fc.constantFrom('http', 'smtp', 'smtps', 'ftp'),
        fc.constantFrom('', '/x', '?tls=off', '?a=b'),
        (password, scheme, tail) => {
          try {
            parseSmtpUrl(`${scheme}://user:${password}@mail.example.org${tail}`);
          } catch (e) {
            assert.ok(isVigilError(e));
            assert.ok(!e.message.includes(password));
          }
        },
      ),
    );
  });

  it('refuses a % in the password that is not an escape, saying to write it as %25', () => {
    for (const url of ['smtp://alerts:p%ss@mail.example:587', 'smtps://alerts:secret%@mail.example']) {
      assert.throws(
        () => parseSmtpUrl(url),
        (e) =>
          isVigilError(e) &&
          e.code === 'VIGIL_ERR_CONFIG_INVALID' &&
          /^VIGIL_SMTP_URL has a password with a % .* write % as %25/.test(e.detail) &&
          !e.detail.includes('p%ss') &&
          !e.detail.includes('secret'),
      );
    }
    assert.equal(parseSmtpUrl('smtp://alerts:p%25ss@mail.example:587').auth?.pass, 'p%ss');
  });
});
