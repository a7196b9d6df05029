import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { vi } from 'vitest';
import type { Alert, Device } from './api/types.ts';

export interface FakeCall {
  method: string;
  path: string;
  /** The query string without its '?' ('' when none); routes match on the path alone. */
  query: string;
  headers: Record<string, string>;
  body: unknown;
}
type Answer = { status?: number; body?: unknown };
type Handler = (call: FakeCall) => Answer | Promise<Answer>;

/**
 * A fake Vigil API for component tests: answers by "METHOD /path" (query string ignored) and
 * records every call. Unknown routes answer like the real server: a 404 problem document.
 * The real server is exercised by test/dashboard-e2e.test.ts.
 */
export function fakeApi(routes: Record<string, Handler | Answer>): FakeCall[] {
  const calls: FakeCall[] = [];
  vi.stubGlobal('fetch', async (input: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET';
    const [path = '', query = ''] = String(input).split('?');
    const headers = (init.headers ?? {}) as Record<string, string>;
    const call: FakeCall = {
      method,
      path,
      query,
      headers,
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    };
    calls.push(call);
    const route = routes[`${method} ${path}`];
    const answer: Answer = route
      ? typeof route === 'function'
        ? await route(call)
        : route
      : {
          status: 404,
          body: { code: 'VIGIL_ERR_NOT_FOUND', title: 'Not found', detail: `no route ${method} ${path}` },
        };
    const status = answer.status ?? 200;
    const isProblem = status >= 400;
    return new Response(status === 204 ? null : JSON.stringify(answer.body ?? {}), {
      status,
      headers: { 'content-type': isProblem ? 'application/problem+json' : 'application/json' },
    });
  });
  return calls;
}

export const problem = (status: number, code: string, detail: string): Answer => ({
  status,
  body: { type: 'about:blank', title: code, status, code, detail },
});

export function renderWithClient(ui: ReactElement) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false, refetchInterval: false } } });
  return { ...render(<QueryClientProvider client={client}>{ui}</QueryClientProvider>), client };
}

/** An open "Glucose low" warning for patient p-1, opened now; override what a test needs. */
export const alertFixture = (o: Partial<Alert>): Alert => ({
  id: '11111111-1111-4111-8111-111111111111',
  patient: 'p-1',
  condition: 'glucose-low',
  title: 'Glucose low',
  device: null,
  urgency: 'warning',
  state: 'open',
  value: 62,
  opened: new Date().toISOString(),
  acknowledgedBy: null,
  snoozedUntil: null,
  ...o,
});

/** An active, enrolled pulse oximeter ox-1 worn by p-1, seen now; override what a test needs. */
export const deviceFixture = (o: Partial<Device> = {}): Device => ({
  id: 'ox-1',
  model: 'PulseOx 3',
  serial: 'SN-1',
  status: 'active',
  patientId: 'p-1',
  firmware: '2.4.1',
  battery: 81,
  lastSeen: new Date().toISOString(),
  certificateExpires: new Date(Date.now() + 365 * 86_400_000).toISOString(),
  enrolled: true,
  quarantineReason: null,
  ...o,
});
