import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Mail {
  from: string;
  to: string[];
  raw: string;
}

export interface SmtpSink {
  port: number;
  mails: Mail[];
  close(): Promise<void>;
}

/** The mail settings of a Vigil that sends to `smtp` in plain text, with links to a public URL. */
export function mailEnv(smtp: Pick<SmtpSink, 'port'>): Record<string, string> {
  return {
    VIGIL_SMTP_URL: `smtp://127.0.0.1:${smtp.port}?tls=off`,
    VIGIL_MAIL_FROM: 'vigil@hospital.example',
    VIGIL_PUBLIC_URL: 'https://vigil.hospital.example',
  };
}

/** A real SMTP server (smtp-server) on 127.0.0.1, on `port` or a free one, keeping what it receives. */
export function startSmtp(opts: { startTls: boolean; port?: number }): Promise<SmtpSink> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: opts.startTls ? [] : ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => {
        raw += c;
      });
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
        });
        callback();
      });
    },
  });
  return new Promise((resolve) => {
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      const { port } = server.server.address() as AddressInfo;
      resolve({ port, mails, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

/** The subject and the text body as a mail client shows them (quoted-printable undone). */
export function readMail(raw: string): { subject: string; text: string } {
  const [head = '', ...rest] = raw.split(/\r?\n\r?\n/);
  const subject = /^Subject: (.*)$/im.exec(head)?.[1] ?? '';
  const body = rest.join('\n\n');
  const text = /quoted-printable/i.test(head)
    ? body
        .replace(/=\r?\n/g, '')
        .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)))
    : body;
  return { subject, text: text.replace(/\r\n/g, '\n') };
}

/** A port nothing listens on (taken and let go at once): a mail relay that is down. */
export async function closedPort(): Promise<number> {
  const sink = await startSmtp({ startTls: false });
  await sink.close();
  return sink.port;
}
