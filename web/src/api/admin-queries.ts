import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type {
  AuditEntry,
  AuditFilter,
  AuditVerifyReport,
  CareTeam,
  ConsentRecord,
  DeviceDetail,
  EnrollmentToken,
  UserView,
} from './admin-types.ts';
import { api } from './client.ts';
import type { Device } from './types.ts';

/**
 * Reads and changes for the administrator's, security officer's and auditor's screens. Lists
 * refresh when a change settles; they are not polled (they change only when someone here acts).
 */
const enc = encodeURIComponent;

/** A change, then a fresh look at the lists it touched. One-time secrets come back in the answer only. */
function useChange<V, R>(run: (v: V) => Promise<R>, invalidates: string[][]) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: run,
    onSettled: () => Promise.all(invalidates.map((queryKey) => client.invalidateQueries({ queryKey }))),
  });
}

export function useUsers() {
  return useQuery({ queryKey: ['users'], queryFn: () => api<{ users: UserView[] }>('/api/v1/users') });
}

export const useCreateUser = () =>
  useChange(
    (v: { username: string; role: string; email?: string }) =>
      api<{ user: UserView; oneTimePassword: string }>('/api/v1/users', { method: 'POST', body: v }),
    [['users']],
  );

export const useUpdateUser = () =>
  useChange(
    (v: { id: string; role?: string; disabled?: boolean }) => {
      const { id, ...body } = v;
      return api<UserView>(`/api/v1/users/${enc(id)}`, { method: 'PATCH', body });
    },
    [['users']],
  );

export const useResetUser = () =>
  useChange(
    (v: { id: string; what: 'password' | 'mfa' }) =>
      api<{ oneTimePassword: string }>(`/api/v1/users/${enc(v.id)}/reset-${v.what}`, { method: 'POST' }),
    [['users']],
  );

export function useCareTeams() {
  return useQuery({
    queryKey: ['care-teams'],
    queryFn: () => api<{ careTeams: CareTeam[] }>('/api/v1/care-teams'),
  });
}

export const useCreateCareTeam = () =>
  useChange(
    (v: { id: string; name: string; members: string[] }) =>
      api<CareTeam>('/api/v1/care-teams', { method: 'POST', body: v }),
    [['care-teams']],
  );

export const useSetMembers = () =>
  useChange(
    (v: { id: string; members: string[] }) =>
      api<CareTeam>(`/api/v1/care-teams/${enc(v.id)}/members`, {
        method: 'PUT',
        body: { members: v.members },
      }),
    [['care-teams']],
  );

export const useTeamPatient = () =>
  useChange(
    (v: { id: string; patientId: string; link: boolean }) =>
      api<CareTeam>(`/api/v1/care-teams/${enc(v.id)}/patients/${enc(v.patientId)}`, {
        method: v.link ? 'PUT' : 'DELETE',
      }),
    [['care-teams']],
  );

/** Each read is audited on the server (consent.read), so it runs only for a patient asked for. */
export function useConsents(patientId: string | null) {
  return useQuery({
    queryKey: ['consents', patientId ?? ''],
    queryFn: () => api<{ consents: ConsentRecord[] }>(`/api/v1/patients/${enc(patientId ?? '')}/consents`),
    enabled: patientId !== null,
  });
}

export const useRecordConsent = () =>
  useChange(
    (v: {
      patientId: string;
      decision: 'permit' | 'deny';
      purposes: string[];
      categories: string[];
      start?: string;
      end?: string;
    }) => {
      const { patientId, ...body } = v;
      return api<{ id: string }>(`/api/v1/patients/${enc(patientId)}/consents`, { method: 'POST', body });
    },
    [['consents']],
  );

export const useRevokeConsent = () =>
  useChange(
    (v: { patientId: string; consentId: string }) =>
      api(`/api/v1/patients/${enc(v.patientId)}/consents/${enc(v.consentId)}/revoke`, { method: 'POST' }),
    [['consents']],
  );

export function useDeviceDetail(id: string) {
  return useQuery({
    queryKey: ['device', id],
    queryFn: () => api<DeviceDetail>(`/api/v1/devices/${enc(id)}`),
    refetchInterval: 5000,
  });
}

export const useAddDevice = () =>
  useChange(
    (v: { id: string; model: string; serial: string; patientId?: string }) =>
      api<{ device: Device; enrollment: EnrollmentToken }>('/api/v1/devices', { method: 'POST', body: v }),
    [['devices']],
  );

export const useNewEnrollmentToken = () =>
  useChange(
    (id: string) => api<EnrollmentToken>(`/api/v1/devices/${enc(id)}/enrollment-token`, { method: 'POST' }),
    [['device'], ['devices']],
  );

export const useRevokeDevice = () =>
  useChange(
    (v: { id: string; reason: string }) =>
      api<{ id: string; revokedCertificates: number }>(`/api/v1/devices/${enc(v.id)}/revoke`, {
        method: 'POST',
        body: { reason: v.reason },
      }),
    [['device'], ['devices']],
  );

export const useAssignDevice = () =>
  useChange(
    (v: { id: string; patientId: string }) =>
      api<Device>(`/api/v1/devices/${enc(v.id)}/patient`, {
        method: 'PUT',
        body: { patientId: v.patientId },
      }),
    [['device'], ['devices']],
  );

export const AUDIT_PAGE = 50;

/** Newest first; each further page starts below the last entry seen (?before=seq). */
export function useAuditLog(filter: AuditFilter) {
  return useInfiniteQuery({
    queryKey: ['audit', filter],
    initialPageParam: null as number | null,
    queryFn: ({ pageParam }) => {
      const q = new URLSearchParams({ limit: String(AUDIT_PAGE) });
      for (const [k, v] of Object.entries(filter)) if (v) q.set(k, v);
      if (pageParam !== null) q.set('before', String(pageParam));
      return api<{ entries: AuditEntry[]; next: number | null }>(`/api/v1/audit?${q}`);
    },
    getNextPageParam: (last) => last.next,
  });
}

export const useVerifyAudit = () =>
  useMutation({ mutationFn: () => api<AuditVerifyReport>('/api/v1/audit/verify') });
