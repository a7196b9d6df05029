import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../errors/catalogue.ts';
import { isForbiddenAddress, parseWebhookUrl } from './webhooks-url.ts';

const strict = { allowLoopbackHttp: false };
const loose = { allowLoopbackHttp: true };

function refusal(input: unknown, policy = strict): string {
  try {
    parseWebhookUrl(input, policy);
  } catch (e) {
    assert.ok(isVigilError(e), `threw ${String(e)}`);
    assert.equal(e.code, 'VIGIL_ERR_WEBHOOK_URL');
    return e.detail;
  }
  assert.fail(`accepted ${String(input)}`);
}

const publicHost = fc.domain().filter((d) => d !== 'localhost' && !d.endsWith('.localhost'));

describe('webhook URL validation', () => {
  it('accepts https URLs to public names, with paths and queries', () => {
    assert.equal(
      parseWebhookUrl('https://hooks.example.org/vigil?x=1', strict),
      'https://hooks.example.org/vigil?x=1',
    );
    fc.assert(
      fc.property(publicHost, fc.webPath(), (host, path) => {
        const url = `https://${host}${path}`;
        assert.equal(parseWebhookUrl(url, strict), new URL(url).toString());
      }),
    );
  });

  it('refuses plain http to any non-loopback host, whatever the policy', () => {
    fc.assert(
      fc.property(publicHost, fc.boolean(), (host, allow) => {
        assert.match(refusal(`http://${host}/hook`, { allowLoopbackHttp: allow }), /use https/);
      }),
    );
  });

  it('allows http to loopback only when the policy says so', () => {
    assert.equal(parseWebhookUrl('http://127.0.0.1:8080/hook', loose), 'http://127.0.0.1:8080/hook');
    assert.equal(parseWebhookUrl('http://[::1]:9/h', loose), 'http://[::1]:9/h');
    assert.match(refusal('http://127.0.0.1:8080/hook'), /use https/);
    assert.match(refusal('https://localhost/hook'), /loopback/);
    assert.match(refusal('https://[::ffff:127.0.0.1]/hook'), /loopback/);
  });

  it('refuses URLs that carry credentials', () => {
    fc.assert(
      fc.property(
        publicHost,
        fc.stringMatching(/^[a-z0-9]{1,12}$/),
        fc.stringMatching(/^[a-z0-9]{0,12}$/),
        (host, user, pass) => {
          assert.match(refusal(`https://${user}${pass ? `:${pass}` : ''}@${host}/h`), /credentials/);
        },
      ),
    );
  });

  it('refuses link-local and unspecified addresses, the cloud-metadata SSRF targets', () => {
    for (const url of [
      'https://169.254.169.254/latest/meta-data',
      'https://[fe80::1]/h',
      'https://0.0.0.0/h',
      'https://[::]/h',
      'https://[::ffff:169.254.169.254]/h',
      'https://[::ffff:a9fe:101]/h',
    ]) {
      assert.match(refusal(url, loose), /link-local or unspecified/, url);
    }
    assert.ok(isForbiddenAddress('169.254.0.1'));
    assert.ok(!isForbiddenAddress('10.1.2.3'));
  });

  it('refuses the IPv6 cloud-metadata address (AWS IMDS, fd00:ec2::254), in any spelling', () => {
    for (const url of ['https://[fd00:ec2::254]/latest/meta-data', 'https://[FD00:0EC2:0:0:0:0:0:254]/h']) {
      assert.match(refusal(url, loose), /metadata/, url);
    }
    // What a resolver hands the sender's lookup (DNS rebinding to the metadata service).
    assert.ok(isForbiddenAddress('fd00:ec2::254'));
    assert.ok(isForbiddenAddress('fd00:ec2:0:0:0:0:0:254'));
    assert.ok(!isForbiddenAddress('fd00:ec2::253'));
  });

  it('refuses other schemes, fragments and non-URLs', () => {
    assert.match(refusal('ftp://example.org/x'), /not https/);
    assert.match(refusal('https://example.org/x#frag'), /fragment/);
    assert.match(refusal('not a url'), /not a URL/);
    assert.match(refusal(42), /give an https/);
    assert.match(refusal(`https://example.org/${'a'.repeat(2100)}`), /longer than/);
  });

  it('never throws anything but a coded refusal, whatever the input', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.webUrl({ withQueryParameters: true, withFragments: true })),
        fc.boolean(),
        (input, allow) => {
          try {
            const out = parseWebhookUrl(input, { allowLoopbackHttp: allow });
            const url = new URL(out);
            assert.ok(url.protocol === 'https:' || (allow && url.protocol === 'http:'));
            assert.equal(url.username + url.password, '');
          } catch (e) {
            assert.ok(isVigilError(e) && e.code === 'VIGIL_ERR_WEBHOOK_URL', String(e));
          }
        },
      ),
    );
  });
});
