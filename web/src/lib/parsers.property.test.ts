import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, api, describeError } from '../api/client.ts';
import { matchRoute } from './router.ts';

describe('route parser (property)', () => {
  it('never throws, and a patient route only ever carries an id-shaped patient id', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.webPath(),
          fc.string().map((s) => `/patients/${s}`),
        ),
        (path) => {
          const route = matchRoute(path);
          if (route.screen === 'patient') expect(route.patientId).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
        },
      ),
    );
  });
});

describe('problem document reader (property)', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('turns any error answer, JSON or not, into an ApiError with a sentence for people', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 400, max: 599 }),
        fc.oneof(fc.string(), fc.json(), fc.constant('')),
        async (status, body) => {
          vi.stubGlobal('fetch', async () => new Response(body, { status }));
          const error = await api('/api/v1/anything').catch((e: unknown) => e);
          expect(error).toBeInstanceOf(ApiError);
          expect((error as ApiError).status).toBe(status);
          expect(typeof describeError(error)).toBe('string');
          expect(describeError(error).length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
