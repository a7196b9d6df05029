import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effectiveKeepaliveSeconds, peerLimitsFrom } from './session-terms.ts';

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
});
