import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { asDeviceId, ID_PATTERN } from '../../errors/ids.ts';
import { checkPublish, checkSubscribe, commandsTopic, parseDeviceTopic } from './topic-acl.ts';

const deviceId = fc.stringMatching(ID_PATTERN).map(asDeviceId);
const twoDevices = fc.tuple(deviceId, deviceId).filter(([a, b]) => a !== b);

/** Topics near the real ones: right and wrong segments, wildcards, extra levels. */
const nearTopic = fc
  .tuple(
    fc.constantFrom('v1', 'v2', '', 'V1', '+', '#'),
    fc.constantFrom('devices', 'device', '+', '#', ''),
    fc.oneof(fc.stringMatching(ID_PATTERN), fc.constantFrom('+', '#', '', '..', 'a/b')),
    fc.constantFrom('telemetry', 'status', 'commands', '#', '+', '', 'telemetry/x', 'Telemetry'),
  )
  .map((parts) => parts.join('/'));
const anyTopic = fc.oneof(nearTopic, fc.string(), fc.string({ unit: 'grapheme' }));

describe('topic ACL', () => {
  it('lets a device publish to its own telemetry and status topics', () => {
    fc.assert(
      fc.property(deviceId, fc.constantFrom('telemetry' as const, 'status' as const), (id, channel) => {
        assert.deepEqual(checkPublish(id, `v1/devices/${id}/${channel}`), { allowed: true, channel });
      }),
    );
  });

  it('allows a publish only to exactly the two own topics, whatever the topic', () => {
    fc.assert(
      fc.property(deviceId, anyTopic, (id, topic) => {
        const decision = checkPublish(id, topic);
        const own = topic === `v1/devices/${id}/telemetry` || topic === `v1/devices/${id}/status`;
        assert.equal(decision.allowed, own);
      }),
    );
  });

  it("denies a publish to another device's topics as TOPIC_DENIED", () => {
    fc.assert(
      fc.property(twoDevices, fc.constantFrom('telemetry', 'status', 'commands'), ([me, other], channel) => {
        const decision = checkPublish(me, `v1/devices/${other}/${channel}`);
        assert.equal(decision.allowed, false);
        assert.equal(!decision.allowed && decision.code, 'VIGIL_ERR_MQTT_TOPIC_DENIED');
      }),
    );
  });

  it('refuses a publish to its own commands topic, which only Vigil writes', () => {
    const id = asDeviceId('cgm-1');
    const decision = checkPublish(id, commandsTopic(id));
    assert.equal(!decision.allowed && decision.code, 'VIGIL_ERR_MQTT_TOPIC_DENIED');
  });

  it('calls a topic that is not a device topic BAD_TOPIC', () => {
    for (const topic of [
      '',
      '/',
      'v1/devices',
      'v1/devices/cgm-1',
      'v1/devices/cgm-1/telemetry/extra',
      '$SYS/x',
      'v1/devices/+/telemetry',
    ]) {
      const decision = checkPublish(asDeviceId('cgm-1'), topic);
      assert.equal(!decision.allowed && decision.code, 'VIGIL_ERR_MQTT_BAD_TOPIC', topic);
    }
  });

  it('allows a subscription only to exactly the own commands topic', () => {
    fc.assert(
      fc.property(deviceId, anyTopic, (id, filter) => {
        assert.equal(checkSubscribe(id, filter).allowed, filter === commandsTopic(id));
      }),
    );
    fc.assert(
      fc.property(deviceId, (id) => assert.equal(checkSubscribe(id, commandsTopic(id)).allowed, true)),
    );
  });

  it('never grants a wildcard or shared subscription', () => {
    fc.assert(
      fc.property(
        deviceId,
        fc.constantFrom('#', '+', 'v1/#', 'v1/devices/+/commands', '$share/g/v1/devices/x/commands'),
        (id, filter) => {
          const decision = checkSubscribe(id, filter);
          assert.equal(!decision.allowed && decision.code, 'VIGIL_ERR_MQTT_TOPIC_DENIED');
        },
      ),
    );
  });

  it('gives nothing to an id outside the safe alphabet, even if identify returned one', () => {
    for (const id of ['+', '#', 'a/b', '', 'x'.repeat(65)].map(asDeviceId)) {
      assert.equal(checkPublish(id, `v1/devices/${id}/telemetry`).allowed, false, id);
      assert.equal(checkSubscribe(id, commandsTopic(id)).allowed, false, id);
    }
  });

  it('parses exactly the device topic shape', () => {
    assert.deepEqual(parseDeviceTopic('v1/devices/bp-2/status'), { deviceId: 'bp-2', channel: 'status' });
    assert.equal(parseDeviceTopic('v1/devices/bp-2/firmware'), undefined);
  });

  it('keeps a huge topic out of the refusal detail', () => {
    const decision = checkPublish(asDeviceId('cgm-1'), 'x'.repeat(10_000));
    assert.ok(!decision.allowed && decision.detail.length < 300);
  });
});
