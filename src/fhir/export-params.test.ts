import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { refusedOrParsed } from '../../test/support/refusal.ts';
import { EXPORT_PURPOSES } from '../access/export-access.ts';
import { VigilError } from '../errors/catalogue.ts';
import {
  parseAuditEventSearch,
  parseConsentSearch,
  parseEverythingQuery,
  parsePurpose,
} from './export-params.ts';
import type { RawQuery } from './search-params.ts';

const anyQuery = (names: string[]) =>
  fc.dictionary(
    fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 12 })),
    fc.oneof(fc.string({ maxLength: 40 }), fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 })),
  ) as fc.Arbitrary<RawQuery>;
const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.-]{0,30}$/);

describe('Patient $everything parameters', () => {
  it('reads purpose, _deidentify and reason, and refuses anything else in one kind of error', () => {
    fc.assert(
      fc.property(anyQuery(['purpose', '_deidentify', 'reason', '_format']), (q) => {
        const r = refusedOrParsed(() => parseEverythingQuery(q));
        if (r instanceof VigilError) return;
        if (r.purpose !== undefined) assert.ok(EXPORT_PURPOSES.includes(r.purpose));
        assert.equal(r.deidentified, [q._deidentify].flat()[0] === 'safe-harbor');
        if (r.reason !== undefined) {
          assert.equal(r.purpose, 'patient-request', 'a reason only with the request it names');
          assert.ok(r.reason.replace(/\s/g, '').length >= 20 && r.reason.length <= 500);
          assert.doesNotMatch(r.reason, /[\p{Cc}\p{Cf}]/u);
        }
      }),
    );
  });

  it('accepts every export purpose, with or without de-identification', () => {
    fc.assert(
      fc.property(fc.constantFrom(...EXPORT_PURPOSES), fc.boolean(), (purpose, deid) => {
        const q: RawQuery = { purpose, ...(deid ? { _deidentify: 'safe-harbor' } : {}) };
        assert.deepEqual(parseEverythingQuery(q), { purpose, deidentified: deid });
      }),
    );
  });

  it("takes a reason naming the patient's request, with purpose=patient-request only", () => {
    const reason = 'subject access request SAR-2026-114 received 2026-12-01';
    assert.deepEqual(parseEverythingQuery({ purpose: 'patient-request', reason: ` ${reason} ` }), {
      purpose: 'patient-request',
      deidentified: false,
      reason,
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constant(undefined),
          fc.constantFrom(...EXPORT_PURPOSES.filter((p) => p !== 'patient-request')),
        ),
        (purpose) => {
          const q: RawQuery = { reason, ...(purpose === undefined ? {} : { purpose }) };
          assert.throws(() => parseEverythingQuery(q), /purpose=patient-request only/);
        },
      ),
    );
    for (const bad of ['SAR-1', `${reason}\r\nforged: line`, [reason, reason]])
      assert.throws(
        () => parseEverythingQuery({ purpose: 'patient-request', reason: bad }),
        (e: unknown) => e instanceof VigilError && e.code === 'VIGIL_ERR_REQUEST_INVALID',
      );
  });
});

describe('export purpose (the --purpose flag and purpose=)', () => {
  it('accepts exactly the export purposes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...EXPORT_PURPOSES), fc.string({ maxLength: 30 })), (value) => {
        const r = refusedOrParsed(() => parsePurpose(value));
        assert.equal(r instanceof VigilError, !(EXPORT_PURPOSES as readonly string[]).includes(value));
      }),
    );
  });
});

describe('AuditEvent search parameters', () => {
  it('never fails other than as an invalid request', () => {
    fc.assert(
      fc.property(
        anyQuery(['patient', 'entity', 'date', 'action', 'subtype', '_count', '_cursor']),
        (q) => void refusedOrParsed(() => parseAuditEventSearch(q)),
      ),
    );
  });

  it('reads references, action codes, a subtype, a count and a cursor', () => {
    fc.assert(
      fc.property(
        id,
        fc.constantFrom('Device', 'Patient', 'Consent'),
        fc.subarray(['C', 'R', 'U', 'D', 'E'], { minLength: 1 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 1e12 }),
        (ref, type, actions, count, cursor) => {
          const q = parseAuditEventSearch({
            patient: `Patient/${ref}`,
            entity: `https://vigil.example/fhir/R4/${type}/${ref}`,
            action: actions
              .map((a, i) => (i === 0 ? `http://hl7.org/fhir/audit-event-action|${a}` : a))
              .join(','),
            subtype: 'urn:vigil:audit-action|patient.export',
            _count: String(count),
            _cursor: String(cursor),
          });
          assert.equal(q.patientId, ref);
          assert.equal(q.entity, `${type}/${ref}`);
          assert.deepEqual([...(q.actions ?? [])].sort(), [...actions].sort());
          assert.equal(q.subtype, 'patient.export');
          assert.equal(q.count, count);
          assert.equal(q.beforeSeq, cursor);
        },
      ),
    );
  });

  it('narrows the date range with every prefix it is given', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }),
        fc.integer({ min: 0, max: 1e10 }),
        (low, width) => {
          const from = new Date(low).toISOString();
          const to = new Date(low + width).toISOString();
          const q = parseAuditEventSearch({ date: [`ge${from}`, `le${to}`] });
          assert.equal(q.fromMs, low);
          assert.ok(q.toMs! >= low + width && q.toMs! < low + width + 1);
        },
      ),
    );
  });

  it('refuses unknown action codes and subtypes from another system', () => {
    for (const q of [
      { action: 'X' },
      { subtype: 'http://other|patient.export' },
      { _cursor: '0' },
      { entity: 'nope' },
    ])
      assert.throws(() => parseAuditEventSearch(q), VigilError);
  });
});

describe('Consent search parameters', () => {
  it('needs a patient and takes a status', () => {
    fc.assert(
      fc.property(anyQuery(['patient', 'status']), (q) => {
        const r = refusedOrParsed(() => parseConsentSearch(q));
        if (!(r instanceof VigilError))
          assert.ok(r.status === undefined || ['active', 'inactive'].includes(r.status));
      }),
    );
    fc.assert(
      fc.property(id, fc.constantFrom('active', 'inactive'), (ref, status) => {
        assert.deepEqual(parseConsentSearch({ patient: ref, status }), { patientId: ref, status });
      }),
    );
    assert.throws(() => parseConsentSearch({ status: 'active' }), /needs patient/);
  });
});
