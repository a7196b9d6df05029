/**
 * The dashboard's only way to the server: same-origin fetch with the session cookie, the CSRF
 * token on changes (the server's synchronizer-token check), and RFC 9457 problem documents
 * turned into ApiError so screens can say what went wrong.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail || title || `HTTP ${status}`);
    this.name = 'ApiError';
  }

  /** The server has no such route: that part of the API is not built on this server yet. */
  get isMissingRoute(): boolean {
    return this.status === 404 && this.code === 'VIGIL_ERR_NOT_FOUND' && this.detail.startsWith('no route');
  }
}

export const CSRF_HEADER = 'x-csrf-token';
let csrfToken: string | undefined;

/** Remembered in memory only (never in storage): a reload asks GET /api/v1/auth/me again. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const method = opts.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers[CSRF_HEADER] = csrfToken;
  const init: RequestInit = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (opts.body !== undefined) init.body = JSON.stringify(opts.body);
  if (opts.signal) init.signal = opts.signal;
  const response = await fetch(path, init);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const json = parseJson(text);
  if (!response.ok) throw toApiError(response.status, json);
  return json as T;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toApiError(status: number, body: unknown): ApiError {
  const p = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return new ApiError(status, str(p.code), str(p.title), str(p.detail));
}

/** One line for a person: what failed and, where the server said, why. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.isMissingRoute) return 'This part of the API is not available on this server yet.';
    if (error.status === 403) return `Your role may not see this. ${error.detail}`.trim();
    return error.detail || error.title || `The server answered ${error.status}.`;
  }
  if (error instanceof TypeError) return 'The server cannot be reached; check the connection.';
  return error instanceof Error ? error.message : 'Something went wrong.';
}
