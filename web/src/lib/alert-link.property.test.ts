import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alertIdFromSearch } from './alert-link.ts';

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('alert link parser', () => {
  it('reads the id of an e-mail link, whatever else the query carries', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.dictionary(fc.string(), fc.string()), (id, extra) => {
        const q = new URLSearchParams(extra);
        q.delete('alert');
        q.append('alert', id.toUpperCase());
        expect(alertIdFromSearch(`?${q}`)).toBe(id.toLowerCase());
      }),
    );
  });

  it('never throws, and answers only with a UUID-shaped id', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `?alert=${s}`),
          fc.string().map((s) => `?alert=${encodeURIComponent(s)}`),
        ),
        (search) => {
          const id = alertIdFromSearch(search);
          if (id !== undefined) expect(id).toMatch(UUID_SHAPE);
        },
      ),
    );
  });

  it('ignores a query without the alert parameter or with a non-id in it', () => {
    expect(alertIdFromSearch('')).toBeUndefined();
    expect(alertIdFromSearch('?patient=p-1')).toBeUndefined();
    expect(alertIdFromSearch('?alert=../../admin')).toBeUndefined();
    expect(alertIdFromSearch('?alert=%3Cscript%3E')).toBeUndefined();
  });
});
