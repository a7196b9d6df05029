import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { AuditEntry, AuditVerifyReport } from '../api/admin-types.ts';
import { fakeApi, renderWithClient } from '../test-support.tsx';
import { AuditLog } from './AuditLog.tsx';

const entry = (seq: number, o: Partial<AuditEntry> = {}): AuditEntry => ({
  seq,
  time: '2026-11-27T10:00:00.000Z',
  actor: 'user:dr.lee',
  action: 'observation.read',
  patient: 'p-1',
  resource: 'Patient/p-1/Observation',
  purpose: null,
  outcome: 'success',
  source: '10.0.0.4',
  hash: 'h',
  ...o,
});
const report = (o: Partial<AuditVerifyReport>): AuditVerifyReport => ({
  intact: true,
  entries: 120,
  brokenAt: null,
  problems: [],
  checkpoints: 3,
  lastCheckpoint: { id: 3, auditSeq: 118, time: '2026-11-27T10:00:00.000Z' },
  unsignedTail: 2,
  ...o,
});

/** The fake API, keeping each full URL asked for (the fake matches on the path alone). */
function recordUrls(routes: Parameters<typeof fakeApi>[0]): string[] {
  const urls: string[] = [];
  fakeApi(routes);
  const fake = globalThis.fetch;
  vi.stubGlobal('fetch', (input: string, init?: RequestInit) => {
    urls.push(String(input));
    return fake(input, init);
  });
  return urls;
}

describe('audit log', () => {
  it('lists entries and pages to older ones with ?before', async () => {
    const urls = recordUrls({
      'GET /api/v1/audit': () => ({
        body:
          urls.length > 1
            ? { entries: [entry(1)], next: null }
            : { entries: [entry(2, { outcome: 'denied' })], next: 2 },
      }),
    });
    renderWithClient(<AuditLog />);
    expect(await screen.findByRole('row', { name: /^2/ })).toHaveTextContent('denied');
    await userEvent.setup().click(screen.getByRole('button', { name: 'Show older entries' }));
    await screen.findByRole('row', { name: /^1 / });
    expect(screen.queryByRole('button', { name: 'Show older entries' })).toBeNull();
    expect(new URL(urls[1] ?? '', 'https://x').searchParams.get('before')).toBe('2');
  });

  it('sends the filters it is given, times as ISO instants', async () => {
    const urls = recordUrls({ 'GET /api/v1/audit': { body: { entries: [], next: null } } });
    renderWithClient(<AuditLog />);
    const u = userEvent.setup();
    await u.type(screen.getByLabelText('Actor'), 'user:dr.lee');
    await u.type(screen.getByLabelText('Action'), 'Consent.Read');
    await u.type(screen.getByLabelText('From'), '2026-11-27T10:15');
    await u.click(screen.getByRole('button', { name: 'Search' }));
    await waitFor(() => expect(urls.length).toBe(2));
    const q = new URL(urls[1] ?? '', 'https://x').searchParams;
    expect(q.get('actor')).toBe('user:dr.lee');
    expect(q.get('action')).toBe('consent.read');
    expect(q.get('from')).toBe(new Date('2026-11-27T10:15').toISOString());
    expect(q.has('patient')).toBe(false);
  });

  it('says "Intact" with the entry count and last checkpoint after verifying', async () => {
    fakeApi({
      'GET /api/v1/audit': { body: { entries: [], next: null } },
      'GET /api/v1/audit/verify': { body: report({}) },
    });
    renderWithClient(<AuditLog />);
    await userEvent.setup().click(screen.getByRole('button', { name: 'Verify audit trail' }));
    const result = await screen.findByText(/All 120 entries chain correctly; 3 signed checkpoints match/);
    expect(result).toHaveTextContent('Intact');
    expect(result).toHaveTextContent('Last checkpoint #3 vouches for entries up to #118');
  });

  it('says where the trail is broken, and what was found', async () => {
    fakeApi({
      'GET /api/v1/audit': { body: { entries: [], next: null } },
      'GET /api/v1/audit/verify': {
        body: report({
          intact: false,
          brokenAt: 57,
          problems: [{ kind: 'edited', at: 57, detail: 'hash mismatch' }],
        }),
      },
    });
    renderWithClient(<AuditLog />);
    await userEvent.setup().click(screen.getByRole('button', { name: 'Verify audit trail' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Broken');
    expect(alert).toHaveTextContent('altered at entry #57');
    expect(alert).toHaveTextContent('Entry #57: edited — hash mismatch');
  });
});
