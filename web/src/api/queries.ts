import {
  MutationCache,
  type Query,
  QueryCache,
  QueryClient,
  useMutation,
  useQuery,
  useQueryClient,
} from '@tanstack/react-query';
import { ApiError, api, setCsrfToken } from './client.ts';
import { usePollMs } from './live.ts';
import { ALERT_LIST_LIMIT } from './live-cache.ts';
import type {
  Alert,
  DataQualityNotice,
  Device,
  Me,
  Observation,
  PatientSummary,
  SecurityEvent,
  Series,
} from './types.ts';

/**
 * How often an open screen looks again (only while the tab is visible). Each read of patient
 * data is audited, so polling stays modest; the live stream (/api/v1/stream) will replace it.
 */
export const REFRESH_MS = 5000;
/** The patient list reads every patient's latest vitals, so it refreshes less often. */
export const LIST_REFRESH_MS = 15_000;

const isSessionData = (query: Query) => query.queryKey[0] !== 'me';

/**
 * Drops every cached answer of the session and the changes still in flight. Query keys do not
 * name the user (the server decides what a session may read), so whatever stays cached would be
 * drawn for the next person who signs in at this tab, under their session, until their own
 * answers arrive. Only ['me'] stays: it is what says who, if anyone, is signed in now.
 */
export function dropSessionData(client: QueryClient): void {
  void client.cancelQueries({ predicate: isSessionData });
  client.removeQueries({ predicate: isSessionData });
  client.getMutationCache().clear();
}

/** The session ended (a 401): forget its data and token, and show sign-in without asking again. */
export function forgetSession(client: QueryClient): void {
  setCsrfToken(undefined);
  dropSessionData(client);
  if (client.getQueryData(['me']) !== null) client.setQueryData<Me | null>(['me'], null);
}

const isSessionEnded = (error: unknown) => error instanceof ApiError && error.status === 401;

/** A 401 anywhere means the session ended: everything it read is dropped and sign-in shows. */
export function createQueryClient(): QueryClient {
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache({
      onError: (error, query) => {
        if (isSessionEnded(error) && query.queryKey[0] !== 'me') forgetSession(client);
      },
    }),
    mutationCache: new MutationCache({
      onError: (error) => {
        if (isSessionEnded(error)) forgetSession(client);
      },
    }),
    defaultOptions: {
      queries: {
        // A problem document (4xx) will not change by asking again at once.
        retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
        refetchOnWindowFocus: true,
      },
    },
  });
  return client;
}

/**
 * Who is signed in; null when nobody is (401). When the answer names someone else than the
 * cached one (the session expired, or another tab signed in as another person with the shared
 * cookie), the old session's answers are dropped before the new identity reaches any screen.
 */
export function useMe() {
  const client = useQueryClient();
  return useQuery({
    queryKey: ['me'],
    queryFn: async (): Promise<Me | null> => {
      const before = client.getQueryData<Me | null>(['me']);
      let me: Me | null;
      try {
        me = await api<Me>('/api/v1/auth/me');
      } catch (e) {
        if (!isSessionEnded(e)) throw e;
        me = null;
      }
      setCsrfToken(me?.csrfToken);
      if ((before?.id ?? null) !== (me?.id ?? null)) dropSessionData(client);
      return me;
    },
    staleTime: 60_000,
  });
}

/**
 * The caller's patients, polled every 30 s, with names and birth dates where consent lets the
 * caller see identity. The names have a query of their own, asked again only when the set of
 * patients changes or after 10 minutes: the server audits each name it discloses as a read of
 * that patient, and the 30 s poll would otherwise write one per patient every time.
 */
/** Pages a ward list may follow: 20 pages of 1,000, far beyond any ward or clinic. */
const MAX_PATIENT_PAGES = 20;

/** Every page of the patient list (the server pages it so that one request stays bounded). */
async function allPatients(query: string): Promise<{ patients: PatientSummary[] }> {
  const patients: PatientSummary[] = [];
  let after: string | null = null;
  for (let page = 0; page < MAX_PATIENT_PAGES; page++) {
    const cursor: string = after === null ? '' : `&after=${encodeURIComponent(after)}`;
    const got: { patients: PatientSummary[]; next?: string | null } = await api(
      `/api/v1/patients?limit=1000${query}${cursor}`,
    );
    patients.push(...got.patients);
    if (!got.next) break;
    after = got.next;
  }
  return { patients };
}

export function usePatients() {
  const ids = useQuery({
    queryKey: ['patients'],
    queryFn: () => allPatients(''),
    refetchInterval: 30_000,
  });
  const listed = ids.data?.patients.map((p) => p.id).join('\n');
  const identities = useQuery({
    queryKey: ['patients', 'identity', listed],
    queryFn: () => allPatients('&include=identity'),
    enabled: listed !== undefined && listed !== '',
    staleTime: 10 * 60_000,
    refetchOnWindowFocus: false,
  });
  const named = identities.data?.patients;
  if (!ids.data || !named) return ids;
  const byId = new Map(named.map((p) => [p.id, p]));
  // Names from the slower query; the rest (the access basis and its end) from the 30 s poll.
  const withName = (p: PatientSummary): PatientSummary => {
    const n = byId.get(p.id);
    if (!n) return p;
    return {
      ...p,
      ...(n.name === undefined ? {} : { name: n.name }),
      ...(n.birthDate === undefined ? {} : { birthDate: n.birthDate }),
    };
  };
  return { ...ids, data: { patients: ids.data.patients.map(withName) } } as typeof ids;
}

const enc = encodeURIComponent;

export function useLatest(patientId: string) {
  return useQuery({
    queryKey: ['latest', patientId],
    queryFn: () => api<{ latest: Observation[] }>(`/api/v1/patients/${enc(patientId)}/observations/latest`),
    refetchInterval: usePollMs(LIST_REFRESH_MS),
  });
}

/** Enough for a trend arrow; part of the key so the stream keeps the cache to it (live-cache.ts). */
const RECENT_POINTS = 200;

/** The last `rangeMs` of readings for trend arrows on the list (the stream appends to it). */
export function useRecent(patientId: string, rangeMs: number) {
  return useQuery({
    queryKey: ['recent', patientId, rangeMs, RECENT_POINTS],
    queryFn: ({ signal }) => {
      const from = new Date(Date.now() - rangeMs).toISOString();
      return api<{ series: Series[] }>(
        `/api/v1/patients/${enc(patientId)}/observations?downsample=lttb&points=${RECENT_POINTS}&from=${enc(from)}`,
        { signal },
      );
    },
    refetchInterval: usePollMs(LIST_REFRESH_MS),
  });
}

/** Chart series over the last `rangeMs`, downsampled on the server (LTTB keeps peaks). */
export function useSeries(patientId: string, rangeMs: number, points = 2000) {
  return useQuery({
    queryKey: ['series', patientId, rangeMs, points],
    queryFn: ({ signal }) => {
      const from = new Date(Date.now() - rangeMs).toISOString();
      return api<{ series: Series[] }>(
        `/api/v1/patients/${enc(patientId)}/observations?downsample=lttb&points=${points}&from=${enc(from)}`,
        { signal },
      );
    },
    refetchInterval: usePollMs(REFRESH_MS),
    placeholderData: (previous) => previous,
  });
}

export function useAlertRules(patientId: string) {
  return useQuery({
    queryKey: ['alert-rules', patientId],
    queryFn: () =>
      api<{ effective: Record<string, number> }>(`/api/v1/patients/${enc(patientId)}/alert-rules`),
    staleTime: 300_000,
    // A problem document will not change; a server that could not be reached may come back,
    // and the thresholds drawn on the charts should come back with it.
    retry: (count, error) => !(error instanceof ApiError) && count < 2,
    refetchInterval: (query) => (query.state.status === 'error' ? 15_000 : false),
  });
}

export function useAlerts(patientId?: string) {
  return useQuery({
    queryKey: ['alerts', patientId ?? 'all'],
    queryFn: () =>
      api<{ alerts: Alert[] }>(
        `/api/v1/alerts?limit=${ALERT_LIST_LIMIT}${patientId ? `&patient=${enc(patientId)}` : ''}`,
      ),
    refetchInterval: usePollMs(REFRESH_MS),
  });
}

export function useDevices() {
  return useQuery({
    queryKey: ['devices'],
    queryFn: () => api<{ devices: Device[] }>('/api/v1/devices'),
    refetchInterval: REFRESH_MS,
  });
}

export function useSecurityEvents(filter: { code?: string; device?: string }) {
  const q = new URLSearchParams({ limit: '200' });
  if (filter.code) q.set('code', filter.code);
  if (filter.device) q.set('device', filter.device);
  return useQuery({
    queryKey: ['security-events', filter.code ?? '', filter.device ?? ''],
    queryFn: () => api<{ events: SecurityEvent[] }>(`/api/v1/security/events?${q}`),
    // The stream's `security` frames refresh this list while live; polling only without it.
    refetchInterval: usePollMs(REFRESH_MS),
  });
}

export function useDataQuality() {
  return useQuery({
    queryKey: ['data-quality'],
    queryFn: () => api<{ notices: DataQualityNotice[] }>('/api/v1/data-quality?open=true&limit=100'),
    refetchInterval: LIST_REFRESH_MS,
  });
}

/** A change, then a fresh look at what it changed. */
function useChange<V>(run: (v: V) => Promise<unknown>, invalidates: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: run,
    onSettled: () => client.invalidateQueries({ queryKey: [invalidates] }),
  });
}

export const useAcknowledge = () =>
  useChange((id: string) => api(`/api/v1/alerts/${enc(id)}/ack`, { method: 'POST' }), 'alerts');

export const useSnooze = () =>
  useChange(
    (v: { id: string; minutes: number }) =>
      api(`/api/v1/alerts/${enc(v.id)}/snooze`, { method: 'POST', body: { minutes: v.minutes } }),
    'alerts',
  );

export const useQuarantine = () =>
  useChange(
    (v: { id: string; reason: string }) =>
      api(`/api/v1/devices/${enc(v.id)}/quarantine`, { method: 'POST', body: { reason: v.reason } }),
    'devices',
  );

export const useRelease = () =>
  useChange((id: string) => api(`/api/v1/devices/${enc(id)}/quarantine`, { method: 'DELETE' }), 'devices');
