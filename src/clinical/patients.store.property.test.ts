/**
 * Property test of the birth date a patient is registered with (STYLE.md 13), on a real SQLite
 * store: exactly the real past days of the calendar written YYYY-MM-DD are kept, and come back
 * as written; anything else is a VIGIL_ERR_REQUEST_INVALID.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { tempStore } from '../../test/support/temp-store.ts';
import { VigilError } from '../errors/catalogue.ts';
import { PatientStore } from './patients.store.ts';

const NOW_MS = Date.parse('2026-06-15T12:00:00.000Z');
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysIn = (y: number, m: number) =>
  [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0;
const pad = (n: number, width: number) => String(n).padStart(width, '0');

describe('patient birth date, properties', () => {
  let t: Awaited<ReturnType<typeof tempStore>>;
  let patients: PatientStore;
  let next = 0;
  before(async () => {
    t = await tempStore();
    patients = new PatientStore(t.store.db, t.keys);
  });
  after(() => t.cleanup());

  it('keeps exactly the real past calendar days, as written', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1900, max: 2030 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        async (y, m, d) => {
          const birthDate = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
          next += 1;
          const id = `p-${next}`;
          const isReal = m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m);
          const isPast = isReal && Date.UTC(y, m - 1, d) <= NOW_MS;
          let refusal: VigilError | undefined;
          try {
            await patients.add(id, { name: 'Ada Okafor', birthDate }, NOW_MS);
          } catch (e) {
            if (!(e instanceof VigilError)) throw e;
            assert.equal(e.code, 'VIGIL_ERR_REQUEST_INVALID');
            refusal = e;
          }
          if (isPast) {
            assert.equal(refusal, undefined, `${birthDate} was refused: ${refusal?.detail}`);
            assert.equal((await patients.get(id))?.birthDate, birthDate);
          } else {
            assert.ok(refusal, `${birthDate} is not a past day in the calendar, yet was kept`);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
