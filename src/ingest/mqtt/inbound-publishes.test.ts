import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IPublishPacket } from 'mqtt-packet';
import { VigilError } from '../../errors/catalogue.ts';
import { CommandChannel } from './command-channel.ts';
import { FakeSessionLink } from './fake-session-link.ts';
import { InboundPublishes, readSeq } from './inbound-publishes.ts';
import type { ProtocolVersion } from './reply-packets.ts';

type Handler = (payload: Buffer) => Promise<void>;

function setup(version: ProtocolVersion, handler: Handler, receiveMaximum = 100) {
  const link = new FakeSessionLink(version);
  const commands = new CommandChannel(link, { receiveMaximum: 10, maximumPacketBytes: undefined });
  const flow = { paused: false, pauses: 0 };
  const inbound = new InboundPublishes(
    link,
    { onTelemetry: (_id, payload) => handler(payload), onStatus: (_id, payload) => handler(payload) },
    commands,
    {
      pauseReading: () => {
        flow.paused = true;
        flow.pauses += 1;
      },
      resumeReading: () => {
        flow.paused = false;
      },
    },
    { maxPayloadBytes: 1024, receiveMaximum },
  );
  return { link, commands, flow, inbound };
}

function publish(messageId: number, payload = '{"seq":1}', qos: 0 | 1 = 1): IPublishPacket {
  return {
    cmd: 'publish',
    topic: 'v1/devices/dev-1/telemetry',
    payload: Buffer.from(payload),
    qos,
    messageId,
    retain: false,
    dup: false,
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function holdAll(): { handler: Handler; release(): void; calls(): number } {
  const waiting: Array<() => void> = [];
  return {
    handler: () => new Promise<void>((resolve) => waiting.push(resolve)),
    release: () => waiting.shift()?.(),
    calls: () => waiting.length,
  };
}

describe('inbound publishes', () => {
  it('pauses reading once receiveMaximum publishes are in progress and resumes as they settle', async () => {
    const hold = holdAll();
    const { inbound, flow, link } = setup(5, hold.handler, 3);
    for (const id of [1, 2]) inbound.onPublish(publish(id));
    assert.equal(flow.paused, false);
    inbound.onPublish(publish(3));
    assert.equal(flow.paused, true);
    hold.release();
    await settle();
    assert.equal(flow.paused, false);
    assert.deepEqual(
      link.sentOf('puback').map((p) => p.messageId),
      [1],
    );
  });

  it('slows down, rather than disconnects, a device that ignores Receive Maximum', async () => {
    const hold = holdAll();
    const { inbound, link, flow } = setup(5, hold.handler, 2);
    for (const id of [1, 2, 3]) inbound.onPublish(publish(id));
    assert.deepEqual(link.ended, []);
    assert.equal(flow.paused, true);
    for (let i = 0; i < 3; i += 1) hold.release();
    await settle();
    assert.equal(flow.paused, false);
    assert.equal(link.sentOf('puback').length, 3);
  });

  it('acknowledges in the order commits finish, not the order publishes came', async () => {
    const hold = holdAll();
    const { inbound, link } = setup(5, hold.handler);
    inbound.onPublish(publish(1));
    inbound.onPublish(publish(2));
    assert.equal(hold.calls(), 2, 'both handed to the pipeline before either is acked');
    hold.release();
    hold.release();
    await settle();
    assert.deepEqual(
      link.sentOf('puback').map((p) => p.messageId),
      [1, 2],
    );
  });

  it('answers an MQTT 3.1.1 refusal with PUBACK and no notice when the device is not subscribed', async () => {
    const { inbound, link } = setup(4, async () => {
      throw new VigilError('VIGIL_ERR_INGEST_IMPLAUSIBLE', 'heart rate 900/min');
    });
    inbound.onPublish(publish(9));
    await settle();
    assert.deepEqual(link.sent, [{ cmd: 'puback', messageId: 9 }]);
    assert.deepEqual(link.refusals, [{ code: 'VIGIL_ERR_INGEST_IMPLAUSIBLE', detail: 'heart rate 900/min' }]);
  });

  it('never logs a payload, even when a hook fails with an error that quotes it', async () => {
    const { inbound, link } = setup(5, async (payload) => {
      throw new SyntaxError(`Unexpected token in ${payload.toString()}`);
    });
    inbound.onPublish(publish(4, '{"patient":"Jane Roe","seq":4}'));
    await settle();
    assert.equal(link.sentOf('puback').length, 0, 'not acknowledged: the device keeps and resends it');
    assert.equal(link.ended[0]?.reason, 0x80);
    assert.ok(link.logLines.length > 0);
    assert.ok(!link.logLines.join('').includes('Jane'), 'payload must not reach the log');
  });

  it('neither acknowledges nor closes when a QoS 0 publish cannot be stored', async () => {
    const { inbound, link } = setup(5, async () => {
      throw new VigilError('VIGIL_ERR_INGEST_STORE_FAILED', 'disk full');
    });
    inbound.onPublish(publish(0, '{"seq":1}', 0));
    await settle();
    assert.deepEqual(link.sent, []);
    assert.deepEqual(link.ended, []);
  });

  it('sends no PUBACK for a refused QoS 0 publish over MQTT 5', async () => {
    const { inbound, link } = setup(5, async () => {
      throw new VigilError('VIGIL_ERR_INGEST_REPLAY', 'old seq');
    });
    inbound.onPublish(publish(0, '{"seq":1}', 0));
    await settle();
    assert.deepEqual(link.sent, []);
    assert.equal(link.refusals[0]?.code, 'VIGIL_ERR_INGEST_REPLAY');
  });

  it('disconnects an MQTT 5 device that publishes with RETAIN, which CONNACK said is not offered (0x9A)', () => {
    let calls = 0;
    const { inbound, link } = setup(5, async () => {
      calls += 1;
    });
    inbound.onPublish({ ...publish(1), retain: true });
    assert.equal(link.ended[0]?.reason, 0x9a);
    assert.equal(link.refusals[0]?.code, 'VIGIL_ERR_MQTT_UNSUPPORTED');
    assert.equal(calls, 0);
    assert.equal(link.sentOf('puback').length, 0);
  });

  it('stores a retained publish from an MQTT 3.1.1 device and ignores the flag', async () => {
    let calls = 0;
    const { inbound, link } = setup(4, async () => {
      calls += 1;
    });
    inbound.onPublish({ ...publish(1), retain: true });
    await settle();
    assert.equal(calls, 1);
    assert.deepEqual(link.sent, [{ cmd: 'puback', messageId: 1 }]);
    assert.deepEqual(link.ended, []);
  });

  it('refuses a topic alias, which it never offered, with DISCONNECT 0x94', () => {
    const { inbound, link } = setup(5, async () => {});
    inbound.onPublish({ ...publish(1), topic: '', properties: { topicAlias: 1 } });
    assert.equal(link.ended[0]?.reason, 0x94);
  });

  it('reads seq only from JSON that has an integer seq', () => {
    assert.equal(readSeq(Buffer.from('{"seq":1017}')), 1017);
    assert.equal(readSeq(Buffer.from('{"seq":"1017"}')), null);
    assert.equal(readSeq(Buffer.from('{"seq":1.5}')), null);
    assert.equal(readSeq(Buffer.from('[1]')), null);
    assert.equal(readSeq(Buffer.from('not json')), null);
  });
});
