import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import semver from 'semver';
import {
  type Comparator,
  compareDebian,
  compareGeneric,
  compareRpm,
  compareSemver,
} from './version-compare.ts';

const sign = (n: number) => (n > 0 ? 1 : n < 0 ? -1 : 0);

function assertAscending(cmp: Comparator, versions: string[]): void {
  for (let i = 0; i + 1 < versions.length; i++) {
    assert.ok(cmp(versions[i]!, versions[i + 1]!) < 0, `${versions[i]} < ${versions[i + 1]}`);
    assert.ok(cmp(versions[i + 1]!, versions[i]!) > 0, `${versions[i + 1]} > ${versions[i]}`);
  }
}

describe('version orderings', () => {
  it('orders SemVer by precedence, pre-releases first (SemVer 2.0.0 §11)', () => {
    assertAscending(compareSemver, [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-beta',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.1',
      '1.10.0',
      '2.0.0',
    ]);
    assert.equal(compareSemver('v1.2.3', '1.2.3'), 0);
  });

  it('pads short firmware versions to SemVer before comparing them with full ones', () => {
    assertAscending(compareSemver, ['1', '1.0.1', '1.9', '1.9.5', '1.10', '2.3.0', '2.4', '2.4.1', '3.0']);
    assert.equal(compareSemver('2.4', '2.4.0'), 0);
    assert.equal(compareSemver('v2', '2.0.0'), 0);
    assert.ok(compareSemver('2.4-rc.1', '2.4.0') < 0);
  });

  it('places a version that is not SemVer by its numeric release', () => {
    assertAscending(compareSemver, [
      '1.0.0.5',
      '1.2.3_rc1',
      '1.2.3',
      '1.2.3.1',
      '1.3.0',
      '2.0.0.0.1',
      'V3.0.0',
    ]);
    assert.ok(compareSemver('2.4.1.7', '2.4.1') > 0);
    assert.ok(compareSemver('2.3.9.9', '2.4') < 0);
  });

  it('orders Debian versions by epoch, upstream and revision with ~ first (Debian policy §5.6.12)', () => {
    assertAscending(compareDebian, [
      '1.0~rc1',
      '1.0',
      '1.0-1',
      '1.0-1+deb11u1',
      '1.0-1+deb11u2',
      '1.0a',
      '1.2.11.dfsg-2+deb11u1',
      '1:0.9',
      '1:1.2.11.dfsg-2+deb11u1',
      '1:1.2.11.dfsg-2+deb11u2',
    ]);
    assert.equal(compareDebian('0:1.0-1', '1.0-1'), 0);
  });

  it('orders RPM versions like rpmvercmp, with ~ before and ^ after a release', () => {
    assertAscending(compareRpm, [
      '1.0~rc1',
      '1.0',
      '1.0^git1',
      '1.0a',
      '1.0.1',
      '1.1',
      '2.0-1.el8',
      '2.0-2.el8',
      '1:0.1',
    ]);
    assert.equal(compareRpm('1.0', '1.0'), 0);
  });

  it('orders generic firmware versions numerically, suffixes before the release', () => {
    assertAscending(compareGeneric, [
      '1.0rc1',
      '1.0',
      '1.0.1',
      '1.2',
      '1.10',
      '2.0-build7',
      '2.0-build12',
      '10',
    ]);
    assert.equal(compareGeneric('01.002', '1.2'), 0);
  });
});

const versionish = fc.stringMatching(/^(\d:)?[0-9][0-9a-z.~+^-]{0,12}$/);
const semverish = fc
  .tuple(
    fc.nat(30),
    fc.nat(30),
    fc.nat(30),
    fc.option(
      fc.stringMatching(
        /^(0|[1-9][0-9]{0,2}|[a-z][a-z0-9]{0,4})(\.(0|[1-9][0-9]{0,2}|[a-z][a-z0-9]{0,3}))?$/,
      ),
      { nil: undefined },
    ),
  )
  .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre ? `-${pre}` : ''}`);

// Short cores, v prefixes, four-part releases and pre-releases that SemVer and the generic
// ordering rank differently ("1.0.0-1" and "1.0.0-a"): where a mixed comparison could cycle.
const mixedish = fc
  .tuple(
    fc.constantFrom('', 'v', 'V'),
    fc.array(fc.nat(3), { minLength: 1, maxLength: 4 }),
    fc.constantFrom('', '-1', '-a', '-a.1', '-rc1', '_a1', 'a', '+b', '.x'),
  )
  .map(([v, parts, suffix]) => `${v}${parts.join('.')}${suffix}`);

for (const [name, cmp, gen] of [
  ['semver', compareSemver, fc.oneof(semverish, versionish, mixedish)],
  ['generic', compareGeneric, versionish],
  ['debian', compareDebian, versionish],
  ['rpm', compareRpm, versionish],
] as const) {
  describe(`${name} ordering properties`, () => {
    it('is reflexive and antisymmetric', () => {
      fc.assert(
        fc.property(gen, gen, (a, b) => {
          assert.equal(cmp(a, a), 0);
          assert.equal(sign(cmp(a, b)) + sign(cmp(b, a)), 0);
        }),
        { numRuns: 2000 },
      );
    });
    it('is transitive', () => {
      fc.assert(
        fc.property(gen, gen, gen, (a, b, c) => {
          const sorted = [a, b, c].sort(cmp);
          assert.ok(cmp(sorted[0]!, sorted[1]!) <= 0 && cmp(sorted[1]!, sorted[2]!) <= 0);
          assert.ok(cmp(sorted[0]!, sorted[2]!) <= 0);
        }),
        { numRuns: 2000 },
      );
    });
  });
}

describe('semver ordering agrees with the semver package', () => {
  it('for every valid SemVer pair', () => {
    fc.assert(
      fc.property(semverish, semverish, (a, b) => {
        assert.equal(sign(compareSemver(a, b)), sign(semver.compare(a, b)));
      }),
      { numRuns: 2000 },
    );
  });
});
