import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { generate } from 'mqtt-packet';
import { CommandChannel, publishPacketBytes } from './command-channel.ts';
import { FakeSessionLink } from './fake-session-link.ts';
import type { ProtocolVersion } from './reply-packets.ts';

const COMMANDS = 'v1/devices/dev-1/commands';

function subscribed(
  version: ProtocolVersion,
  qos: 0 | 1 | 2,
  peer = { receiveMaximum: 100, maximumPacketBytes: undefined as number | undefined },
) {
  const link = new FakeSessionLink(version);
  const channel = new CommandChannel(link, peer);
  channel.onSubscribe({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: COMMANDS, qos }] });
  return { link, channel };
}

describe('command channel', () => {
  it('grants QoS 1 to a QoS 2 subscription and refuses every other filter in the same SUBSCRIBE', () => {
    const link = new FakeSessionLink(5);
    const channel = new CommandChannel(link, { receiveMaximum: 100, maximumPacketBytes: undefined });
    channel.onSubscribe({
      cmd: 'subscribe',
      messageId: 7,
      subscriptions: [
        { topic: '#', qos: 0 },
        { topic: COMMANDS, qos: 2 },
      ],
    });
    assert.deepEqual(link.sent, [{ cmd: 'suback', messageId: 7, granted: [0x87, 1] }]);
    assert.equal(link.refusals[0]?.code, 'VIGIL_ERR_MQTT_TOPIC_DENIED');
    assert.equal(channel.isSubscribed, true);
  });

  for (const version of [4, 5] as const) {
    it(`closes the connection of a device that subscribes or unsubscribes with no filter (MQTT ${version})`, () => {
      // [MQTT-3.8.3-3], [MQTT-3.10.3-2]; 0x82 is sent only in MQTT 5, where DISCONNECT exists.
      const peer = { receiveMaximum: 100, maximumPacketBytes: undefined };
      const subscriber = new FakeSessionLink(version);
      new CommandChannel(subscriber, peer).onSubscribe({ cmd: 'subscribe', messageId: 1, subscriptions: [] });
      assert.equal(subscriber.ended[0]?.reason, 0x82);
      assert.deepEqual(subscriber.sent, []);
      assert.equal(subscriber.refusals[0]?.code, 'VIGIL_ERR_MQTT_PROTOCOL');
      const unsubscriber = new FakeSessionLink(version);
      new CommandChannel(unsubscriber, peer).onUnsubscribe({
        cmd: 'unsubscribe',
        messageId: 2,
        unsubscriptions: [],
      });
      assert.equal(unsubscriber.ended[0]?.reason, 0x82);
      assert.deepEqual(unsubscriber.sent, []);
      assert.equal(unsubscriber.refusals[0]?.code, 'VIGIL_ERR_MQTT_PROTOCOL');
    });
  }

  it('stops sending QoS 1 commands at the device Receive Maximum until it acknowledges one', () => {
    const { link, channel } = subscribed(5, 1, { receiveMaximum: 2, maximumPacketBytes: undefined });
    assert.equal(channel.publish(Buffer.from('a')), true);
    assert.equal(channel.publish(Buffer.from('b')), true);
    assert.equal(channel.publish(Buffer.from('c')), false);
    const first = link.sentOf('publish')[0]?.messageId;
    channel.onPuback(first, 0);
    assert.equal(channel.publish(Buffer.from('c')), true);
  });

  it('never reuses a message id still awaiting PUBACK', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 300 }), (steps) => {
        const { link, channel } = subscribed(5, 1, { receiveMaximum: 50, maximumPacketBytes: undefined });
        const inFlight = new Set<number>();
        for (const isAck of steps) {
          const oldest = inFlight.values().next();
          if (isAck && !oldest.done) {
            channel.onPuback(oldest.value, 0);
            inFlight.delete(oldest.value);
          } else if (channel.publish(Buffer.from('x'))) {
            const id = link.sentOf('publish').at(-1)?.messageId ?? -1;
            assert.ok(id >= 1 && id <= 0xffff && !inFlight.has(id));
            inFlight.add(id);
          }
        }
      }),
    );
  });

  it('does not send a command larger than the device Maximum Packet Size', () => {
    const { channel } = subscribed(5, 0, { receiveMaximum: 100, maximumPacketBytes: 64 });
    assert.equal(channel.publish(Buffer.alloc(20)), true);
    assert.equal(channel.publish(Buffer.alloc(60)), false);
  });

  it('sends nothing after UNSUBSCRIBE and says which filters had a subscription (MQTT 5)', () => {
    const { link, channel } = subscribed(5, 1);
    channel.onUnsubscribe({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: [COMMANDS, 'other'] });
    assert.deepEqual(link.sent.at(-1), { cmd: 'unsuback', messageId: 3, granted: [0x00, 0x11] });
    assert.equal(channel.publish(Buffer.from('x')), false);
  });

  it('computes the exact size of the PUBLISH it would send', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20_000 }),
        fc.constantFrom(0 as const, 1 as const),
        fc.constantFrom(4 as const, 5 as const),
        (size, qos, version) => {
          const payload = Buffer.alloc(size);
          const packet = generate(
            { cmd: 'publish', topic: COMMANDS, payload, qos, messageId: 1, retain: false, dup: false },
            { protocolVersion: version },
          );
          assert.equal(publishPacketBytes(COMMANDS, size, qos, version), packet.length);
        },
      ),
    );
  });
});
