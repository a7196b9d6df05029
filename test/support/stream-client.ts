import WebSocket from 'ws';

/** One JSON frame of the live stream. */
export interface StreamFrame {
  type: string;
  [field: string]: unknown;
}

export interface OpenStream {
  ws: WebSocket;
  /** Every frame received so far, in order. */
  frames: StreamFrame[];
  /** The first frame (received already or later) that matches; rejects if the stream closes first. */
  waitFor(match: (f: StreamFrame) => boolean, what: string): Promise<StreamFrame>;
  /** Resolves with the close code and reason once the stream has closed. */
  closed: Promise<{ code: number; reason: string }>;
}

/** The upgrade was answered with an HTTP response instead of 101. */
export class StreamRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: { code?: string; detail?: string } | undefined,
  ) {
    super(`stream refused with ${status}: ${JSON.stringify(body)}`);
  }
}

/** Opens `wss://.../api/v1/stream` as a real WebSocket client, pinning Vigil's CA. */
export function openStream(
  baseUrl: string,
  ca: string,
  opts: { token?: string; cookie?: string; origin?: string; query?: string } = {},
): Promise<OpenStream> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  const url = `${baseUrl.replace(/^https:/, 'wss:')}/api/v1/stream${opts.query ? `?${opts.query}` : ''}`;
  const ws = new WebSocket(url, { ca, headers, ...(opts.origin ? { origin: opts.origin } : {}) });
  const frames: StreamFrame[] = [];
  const waiters: Array<{ match: (f: StreamFrame) => boolean; resolve(f: StreamFrame): void }> = [];
  let isClosed = false;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      isClosed = true;
      resolve({ code, reason: reason.toString() });
    });
  });
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as StreamFrame;
    frames.push(frame);
    for (const w of [...waiters]) {
      if (w.match(frame)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(frame);
      }
    }
  });
  const stream: OpenStream = {
    ws,
    frames,
    closed,
    waitFor(match, what) {
      const seen = frames.find(match);
      if (seen) return Promise.resolve(seen);
      if (isClosed) return Promise.reject(new Error(`stream closed before ${what}`));
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void closed.then(({ code }) => {
          const types = frames.map((f) => f.type).join(',');
          reject(new Error(`stream closed (${code}) before ${what}; frames: ${types}`));
        });
      });
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(stream));
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let body: StreamRefused['body'];
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        reject(new StreamRefused(res.statusCode ?? 0, body));
        ws.terminate();
      });
    });
    ws.once('error', reject);
  });
}
