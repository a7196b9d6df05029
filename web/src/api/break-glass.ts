import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from './client.ts';

const enc = encodeURIComponent;

/** The signed-in clinician's own running emergency access to a patient (for the banner). */
export function useBreakGlass(patientId: string) {
  return useQuery({
    queryKey: ['break-glass', patientId],
    queryFn: () =>
      api<{ active: boolean; expires: string | null }>(`/api/v1/patients/${enc(patientId)}/break-glass`),
    // It ends at a known time; looking once a minute keeps the banner honest without polling hard.
    refetchInterval: 60_000,
    retry: false,
  });
}

/** Breaks the glass, then reads the patient afresh: every cached refusal for them is stale. */
export function useBreakGlassGrant(patientId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (reason: string) =>
      api<{ id: string; expires: string }>(`/api/v1/patients/${enc(patientId)}/break-glass`, {
        method: 'POST',
        body: { reason },
      }),
    onSuccess: async (grant) => {
      client.setQueryData(['break-glass', patientId], { active: true, expires: grant.expires });
      for (const key of ['series', 'recent', 'latest', 'alerts', 'alert-rules'])
        await client.invalidateQueries({ queryKey: [key, patientId] });
      // The list shows the patient from now on, marked as emergency access (not the names: each
      // is an audited read, and a new patient in the list asks for them anyway).
      await client.invalidateQueries({ queryKey: ['patients'], exact: true });
    },
  });
}
