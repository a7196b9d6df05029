import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ID_RE, MAX_TEAM_MEMBERS, parseId, parseLocalDateTime, parseMemberList } from './admin-forms.ts';

const idArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/);

describe('member list parser (property)', () => {
  it('never throws; what it accepts is distinct, id-shaped and at most the team limit', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const r = parseMemberList(text);
        if (!r.ok) {
          expect(r.error.length).toBeGreaterThan(0);
        } else {
          expect(new Set(r.value).size).toBe(r.value.length);
          expect(r.value.length).toBeLessThanOrEqual(MAX_TEAM_MEMBERS);
          for (const m of r.value) expect(m).toMatch(ID_RE);
        }
      }),
    );
  });

  it('gives back distinct ids in the order they were typed, whatever the spacing', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(idArb, { maxLength: MAX_TEAM_MEMBERS }),
        fc.constantFrom(',', ', ', ' ,\n', '\n'),
        (ids, sep) => {
          expect(parseMemberList(ids.join(sep))).toEqual({ ok: true, value: ids });
        },
      ),
    );
  });
});

describe('id parser (property)', () => {
  it('accepts exactly the server id alphabet, after trimming', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), idArb), (text) => {
        const r = parseId(text, 'The id');
        expect(r.ok).toBe(ID_RE.test(text.trim()));
      }),
    );
  });
});

describe('date-time parser (property)', () => {
  it('never throws, and an accepted value is an ISO instant', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        const r = parseLocalDateTime(text, 'From');
        if (r.ok && r.value !== undefined) expect(new Date(r.value).toISOString()).toBe(r.value);
      }),
    );
  });

  it('reads any datetime-local value back as the same local time', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }),
        (d) => {
          const pad = (n: number) => String(n).padStart(2, '0');
          const local = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
          const r = parseLocalDateTime(local, 'From');
          expect(r).toEqual({ ok: true, value: new Date(local).toISOString() });
        },
      ),
    );
  });

  it('treats an empty field as no bound', () => {
    expect(parseLocalDateTime('  ', 'From')).toEqual({ ok: true, value: undefined });
  });
});
