import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Schema } from '../store/schema.ts';
import { escapeParam, formatRfc5424, SyslogSink } from './syslog-sink.ts';

const entry = (over: Partial<Schema['audit_log']> = {}): Schema['audit_log'] => ({
  seq: 7,
  ts: Date.parse('2026-11-27T10:00:00.000Z'),
  actor: 'user:alice',
  action: 'observation.read',
  patient_id: 'p-1',
  resource: 'Patient/p-1/Observation',
  purpose: 'treatment',
  outcome: 'success',
  source: '10.0.0.8',
  prev_hash: 'a'.repeat(64),
  hash: 'b'.repeat(64),
  ...over,
});

/** Reads the SD-PARAMs back the way a SIEM's RFC 5424 parser does. */
function params(line: string): Record<string, string> {
  const sd = line.slice(line.indexOf('[vigil@32473'));
  const out: Record<string, string> = {};
  const re = / (\w+)="((?:[^"\\\]]|\\["\\\]])*)"/g;
  let m: RegExpExecArray | null = re.exec(sd);
  while (m) {
    out[m[1] as string] = (m[2] as string).replace(/\\(["\\\]])/g, '$1');
    m = re.exec(sd);
  }
  return out;
}

describe('RFC 5424 audit messages', () => {
  it('formats header, structured data and message', () => {
    const line = formatRfc5424(entry(), 'vigil-01', '42');
    assert.equal(
      line,
      '<109>1 2026-11-27T10:00:00.000Z vigil-01 vigil 42 audit [vigil@32473 seq="7" actor="user:alice" action="observation.read" outcome="success" resource="Patient/p-1/Observation" patient="p-1" purpose="treatment" source="10.0.0.8" hash="bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"] observation.read by user:alice: success',
    );
    assert.match(formatRfc5424(entry({ outcome: 'denied' }), 'h', '1'), /^<108>1 /);
  });

  it('escapes any actor or purpose so the structured data parses back exactly (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.string({ maxLength: 60 }), (actor, purpose) => {
        const back = params(formatRfc5424(entry({ actor, purpose }), 'h', '1'));
        assert.equal(back.actor, actor);
        assert.equal(back.purpose, purpose);
        assert.equal(escapeParam(actor).replace(/\\(["\\\]])/g, '$1'), actor);
      }),
    );
  });

  it('delivers over UDP to a listening socket', async () => {
    const server = createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
    const got = new Promise<string>((r) => server.once('message', (m) => r(m.toString())));
    const sink = new SyslogSink(`udp://127.0.0.1:${server.address().port}`);
    sink.send(entry());
    assert.match(await got, /^<109>1 .* audit \[vigil@32473 seq="7"/);
    await sink.close();
    server.close();
  });

  it('delivers over TCP with octet-counting framing, queueing until connected', async () => {
    let data = '';
    const received = new Promise<void>((resolve) => {
      const server = createServer((socket) => {
        socket.on('data', (d) => {
          data += d.toString();
          if ((data.match(/audit \[/g) ?? []).length === 3) {
            server.close();
            resolve();
          }
        });
      });
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const port = typeof address === 'object' && address ? address.port : 0;
        const sink = new SyslogSink(`tcp://127.0.0.1:${port}`);
        for (let seq = 1; seq <= 3; seq++) sink.send(entry({ seq, actor: `line\nbreak ${seq}` }));
        received.then(() => sink.close());
      });
    });
    await received;
    const frames: string[] = [];
    let rest = data;
    while (rest.length > 0) {
      const space = rest.indexOf(' ');
      const len = Number(rest.slice(0, space));
      const body = Buffer.from(rest.slice(space + 1))
        .subarray(0, len)
        .toString();
      frames.push(body);
      rest = rest.slice(space + 1 + body.length);
    }
    assert.deepEqual(
      frames.map((f) => params(f).seq),
      ['1', '2', '3'],
    );
    assert.equal(params(frames[1] as string).actor, 'line\nbreak 2');
  });
});
