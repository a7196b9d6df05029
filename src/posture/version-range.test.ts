import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { AffectedRange } from './types.ts';
import { CompiledAffected, fixFor, inRange, inVers, isAffectedVersion, parseVers } from './version-range.ts';

const range = (scheme: AffectedRange['scheme'], ...events: AffectedRange['events']): AffectedRange => ({
  scheme,
  events,
});

describe('OSV ranges', () => {
  it('treats introduced..fixed as a half-open interval', () => {
    const r = range('semver', { introduced: '0' }, { fixed: '4.17.21' });
    assert.equal(inRange('4.17.20', r), true);
    assert.equal(inRange('4.17.21', r), false);
    assert.equal(inRange('5.0.0', r), false);
  });

  it('includes last_affected and handles several introduced/fixed pairs', () => {
    const r = range('generic', { introduced: '1.30.0' }, { last_affected: '1.35.0' });
    assert.equal(inRange('1.35.0', r), true);
    assert.equal(inRange('1.36.0', r), false);
    assert.equal(inRange('1.29.9', r), false);
    const two = range(
      'semver',
      { introduced: '1.0.0' },
      { fixed: '1.2.0' },
      { introduced: '2.0.0' },
      { fixed: '2.1.3' },
    );
    assert.deepEqual(
      ['0.9.0', '1.1.0', '1.5.0', '2.1.0', '2.1.3'].map((v) => inRange(v, two)),
      [false, true, false, true, false],
    );
  });

  it('uses the Debian ordering for Debian ECOSYSTEM ranges', () => {
    const r = range('deb', { introduced: '0' }, { fixed: '1:1.2.11.dfsg-2+deb11u2' });
    assert.equal(inRange('1:1.2.11.dfsg-2+deb11u1', r), true);
    assert.equal(inRange('1:1.2.11.dfsg-2+deb11u2', r), false);
  });

  it('names the lowest fix above the installed version', () => {
    const affected = {
      key: 'k',
      versions: [],
      fixedVersions: [],
      ranges: [
        range(
          'semver',
          { introduced: '1.0.0' },
          { fixed: '1.2.0' },
          { introduced: '2.0.0' },
          { fixed: '2.1.3' },
        ),
      ],
    };
    assert.equal(fixFor('2.0.5', affected), '2.1.3');
    assert.equal(fixFor('1.1.0', affected), '1.2.0');
    assert.equal(isAffectedVersion('2.0.5', affected), true);
  });
});

describe('vers ranges (CSAF product_version_range)', () => {
  it('checks bounds, equality and exclusions', () => {
    const v = parseVers('vers:generic/>=2.0|<2.4.1|!=2.2.0');
    assert.ok(typeof v !== 'string');
    assert.deepEqual(
      ['1.9', '2.0', '2.2.0', '2.3.9', '2.4.1'].map((x) => inVers(x, v)),
      [false, true, false, true, false],
    );
    const star = parseVers('vers:semver/*');
    assert.ok(typeof star !== 'string' && inVers('9.9.9', star));
  });

  it('refuses malformed ranges with a reason and never throws', () => {
    assert.match(String(parseVers('>=1.0')), /not a vers range/);
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        const r = parseVers(`vers:generic/${s}`);
        if (typeof r !== 'string') inVers('1.0', r);
      }),
    );
  });

  it('reads two bounds as one interval, or as two open-ended ones when they do not overlap', () => {
    fc.assert(
      fc.property(fc.nat(50), fc.nat(50), fc.nat(60), (lo, hi, x) => {
        const r = parseVers(`vers:generic/>=${lo}|<${hi}`);
        if (lo === hi) return assert.match(String(r), /twice/);
        assert.ok(typeof r !== 'string');
        assert.equal(inVers(String(x), r), lo < hi ? x >= lo && x < hi : x < hi || x >= lo);
      }),
    );
  });
});

describe('compiled ranges', () => {
  it('agree with the plain OSV range check for any events and version', () => {
    const v = fc.tuple(fc.nat(9), fc.nat(9), fc.nat(9)).map(([a, b, c]) => `${a}.${b}.${c}`);
    const event = fc.oneof(
      fc.oneof(v, fc.constant('0')).map((x) => ({ introduced: x })),
      v.map((x) => ({ fixed: x })),
      v.map((x) => ({ last_affected: x })),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('semver', 'generic', 'deb', 'rpm'),
        fc.array(event, { minLength: 1, maxLength: 6 }),
        v,
        (scheme, events, version) => {
          const r = range(scheme as AffectedRange['scheme'], ...events);
          const compiled = new CompiledAffected({ key: 'k', versions: [], ranges: [r], fixedVersions: [] });
          assert.equal(compiled.matches(version), inRange(version, r));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
