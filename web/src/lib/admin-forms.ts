/** Parsers for what administrators type into forms; each answers a value or one sentence saying what is wrong. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** The server's id alphabet (src/errors/ids.ts): ids appear in URLs, topics and certificate CNs. */
export const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** As src/clinical/care-teams.store.ts allows. */
export const MAX_TEAM_MEMBERS = 20;

/** "dr.lee, nurse.kim" → ["dr.lee", "nurse.kim"]: order kept (it is the escalation order), no repeats. */
export function parseMemberList(text: string): Parsed<string[]> {
  const members = text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = members.find((m) => !ID_RE.test(m));
  if (bad !== undefined)
    return {
      ok: false,
      error: `"${bad.slice(0, 64)}" is not a username (letters, digits, ".", "_" or "-").`,
    };
  const seen = new Set<string>();
  for (const m of members) {
    if (seen.has(m)) return { ok: false, error: `${m} is listed twice; each member appears once.` };
    seen.add(m);
  }
  if (members.length > MAX_TEAM_MEMBERS)
    return { ok: false, error: `A care team holds at most ${MAX_TEAM_MEMBERS} members.` };
  return { ok: true, value: members };
}

export function parseId(text: string, what: string): Parsed<string> {
  const id = text.trim();
  if (!ID_RE.test(id))
    return {
      ok: false,
      error: `${what} must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit.`,
    };
  return { ok: true, value: id };
}

/**
 * A datetime-local input's value ("2026-11-27T10:15", the browser's local time) as an ISO
 * instant for the API; empty means "no bound".
 */
export function parseLocalDateTime(text: string, what: string): Parsed<string | undefined> {
  const t = text.trim();
  if (t === '') return { ok: true, value: undefined };
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(t))
    return { ok: false, error: `${what} must be a date and time such as 2026-11-27T10:15.` };
  const ms = new Date(t).getTime();
  if (!Number.isFinite(ms)) return { ok: false, error: `${what} is not a real date and time.` };
  return { ok: true, value: new Date(ms).toISOString() };
}

/** The command an operator runs on the device (DESIGN.md: `vigil device enroll`). */
export function enrolCommand(deviceId: string, token: string, serverUrl: string): string {
  return `vigil device enroll --id ${deviceId} --token ${token} --out ./vigil-credentials --server ${serverUrl} --ca ca.crt`;
}
