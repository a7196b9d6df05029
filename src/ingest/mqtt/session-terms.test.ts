import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  effectiveKeepaliveSeconds,
  peerLimitsFrom,
  wantsProblemInformation,
  willRefusal,
} from './session-terms.ts';

describe('session terms', () => {
  it("keeps the device's keepalive up to the cap, and gives the cap to a device asking for none", () => {
    assert.equal(effectiveKeepaliveSeconds(60, 1200), 60);
    assert.equal(effectiveKeepaliveSeconds(3600, 1200), 1200);
    assert.equal(effectiveKeepaliveSeconds(0, 1200), 1200);
  });

  it('reads the limits an MQTT 5 device states, and assumes the protocol defaults otherwise', () => {
    const stated = peerLimitsFrom({
      cmd: 'connect',
      clientId: '',
      protocolVersion: 5,
      properties: { receiveMaximum: 5, maximumPacketSize: 4096 },
    });
    assert.deepEqual(stated, { receiveMaximum: 5, maximumPacketBytes: 4096 });
    assert.deepEqual(peerLimitsFrom({ cmd: 'connect', clientId: '', protocolVersion: 4 }), {
      receiveMaximum: 0xffff,
      maximumPacketBytes: undefined,
    });
  });

  it('gives problem information unless the device asks for none (§3.1.2.11.7)', () => {
    const connect = { cmd: 'connect', clientId: '', protocolVersion: 5 } as const;
    assert.equal(wantsProblemInformation(connect), true);
    assert.equal(
      wantsProblemInformation({ ...connect, properties: { requestProblemInformation: true } }),
      true,
    );
    assert.equal(
      wantsProblemInformation({ ...connect, properties: { requestProblemInformation: false } }),
      false,
    );
  });

  it('refuses an MQTT 5 will that asks for QoS 2 or retain, and lets any other will through', () => {
    const withWill = (protocolVersion: 4 | 5, qos: 0 | 1 | 2, retain: boolean) =>
      willRefusal({
        cmd: 'connect',
        clientId: '',
        protocolVersion,
        will: { topic: 'v1/devices/dev-1/status', payload: Buffer.from('gone'), qos, retain },
      });
    assert.equal(withWill(5, 2, false)?.reason, 0x9b);
    assert.equal(withWill(5, 2, false)?.error.code, 'VIGIL_ERR_MQTT_QOS2');
    assert.equal(withWill(5, 1, true)?.reason, 0x9a);
    assert.equal(withWill(5, 1, true)?.error.code, 'VIGIL_ERR_MQTT_UNSUPPORTED');
    assert.equal(withWill(5, 1, false), undefined);
    assert.equal(willRefusal({ cmd: 'connect', clientId: '', protocolVersion: 5 }), undefined);
    assert.equal(withWill(4, 2, true), undefined, '3.1.1 cannot be told why; its will is ignored');
  });
});
