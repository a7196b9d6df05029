import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CATEGORIES, type ConsentRecord, PURPOSES } from '../access/consent.ts';
import { auditActionCode, toFhirAuditEvent } from './audit-event-resource.ts';
import { toFhirConsent } from './consent-resource.ts';
import { fhirSchemaErrors } from './fhir-schema.ts';

const ms = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) });
const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.-]{0,30}$/);

describe('AuditEvent from the audit trail', () => {
  it('maps verbs to R4 actions', () => {
    assert.equal(auditActionCode('patient.export'), 'R');
    assert.equal(auditActionCode('token.create.admin'), 'C');
    assert.equal(auditActionCode('consent.deny'), 'U');
    assert.equal(auditActionCode('patient.erase'), 'D');
    assert.equal(auditActionCode('auth.logout'), 'E');
  });

  it('is valid R4 for any entry', () => {
    fc.assert(
      fc.property(
        fc.record({
          seq: fc.integer({ min: 1, max: 1e12 }),
          ts: ms,
          actor: fc.string({ minLength: 1, maxLength: 60 }),
          action: fc.stringMatching(/^[a-z]{1,10}(\.[a-z-]{1,10}){0,2}$/),
          patient_id: fc.option(id, { nil: null }),
          resource: fc.oneof(
            id.map((x) => `Device/${x}`),
            fc.string({ minLength: 1, maxLength: 80 }),
          ),
          purpose: fc.option(
            fc.oneof(fc.constantFrom(...PURPOSES), fc.string({ minLength: 1, maxLength: 40 })),
            {
              nil: null,
            },
          ),
          outcome: fc.constantFrom('success', 'denied', 'failure'),
          source: fc.option(fc.ipV4(), { nil: null }),
          prev_hash: fc.constant('0'.repeat(64)),
          hash: fc.stringMatching(/^[0-9a-f]{64}$/),
        }),
        (row) => {
          const event = toFhirAuditEvent(row);
          assert.deepEqual(fhirSchemaErrors(event), [], JSON.stringify(event));
          assert.equal(event.id, String(row.seq));
          assert.equal(event.recorded, new Date(row.ts).toISOString());
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('Consent from the consent records', () => {
  it('is valid R4 for any record', () => {
    fc.assert(
      fc.property(
        fc.record({
          id: fc.uuid().map((u) => `consent-${u}`),
          decision: fc.constantFrom('permit', 'deny'),
          purposes: fc.oneof(fc.constant(['*']), fc.subarray([...PURPOSES], { minLength: 1 })),
          categories: fc.oneof(fc.constant(['*']), fc.subarray([...CATEGORIES], { minLength: 1 })),
          periodStart: ms,
          periodEnd: fc.option(ms, { nil: null }),
          status: fc.constantFrom('active', 'revoked'),
          recordedAt: ms,
        }) as fc.Arbitrary<ConsentRecord>,
        id,
        (record, patientId) => {
          const consent = toFhirConsent(patientId, record);
          assert.deepEqual(fhirSchemaErrors(consent), [], JSON.stringify(consent));
          assert.equal(consent.provision.type, record.decision);
          assert.equal(consent.status, record.status === 'active' ? 'active' : 'inactive');
        },
      ),
      { numRuns: 200 },
    );
  });
});
