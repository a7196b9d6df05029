import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generate, type IConnectPacket, type Packet, parser } from 'mqtt-packet';
import { VigilError } from '../../errors/catalogue.ts';
import {
  connackAccepted,
  connackReasonFor,
  connackRefusal,
  disconnectPacket,
  type ProtocolVersion,
  puback,
  pubackReasonFor,
  returnCode311For,
  suback,
  withoutProblemInformation,
} from './reply-packets.ts';
import { classifyTlsFailure } from './tls-refusal.ts';

/** Encodes as the gateway does and decodes as a device would. */
function onTheWire(packet: Packet, version: ProtocolVersion): Packet {
  const decoder = parser({ protocolVersion: version });
  const decoded: Packet[] = [];
  decoder.on('packet', (p) => decoded.push(p));
  decoder.parse(generate(packet, { protocolVersion: version }));
  assert.equal(decoded.length, 1);
  return decoded[0] as Packet;
}

const connect = (keepalive: number): IConnectPacket => ({
  cmd: 'connect',
  clientId: 'dev-1',
  keepalive,
  protocolVersion: 5,
});

describe('reply packets', () => {
  it('says in an MQTT 5 PUBACK why a reading was refused', () => {
    const wire = onTheWire(puback(5, 12, { reason: 0x83, reasonString: 'VIGIL_ERR_INGEST_REPLAY' }), 5);
    assert.ok(wire.cmd === 'puback');
    assert.equal(wire.messageId, 12);
    assert.equal(wire.reasonCode, 0x83);
    assert.deepEqual(wire.properties, { reasonString: 'VIGIL_ERR_INGEST_REPLAY' });
  });

  it('strips the Reason String and User Properties and keeps everything else', () => {
    const disconnect = disconnectPacket(0x87, 'VIGIL_ERR_DEVICE_QUARANTINED');
    const stripped = withoutProblemInformation({
      ...disconnect,
      properties: {
        reasonString: 'VIGIL_ERR_DEVICE_QUARANTINED',
        userProperties: { a: 'b' },
        serverReference: 'x',
      },
    });
    assert.deepEqual(stripped, { cmd: 'disconnect', reasonCode: 0x87, properties: { serverReference: 'x' } });
    const plain = puback(5, 3);
    assert.equal(withoutProblemInformation(plain), plain, 'nothing to strip: the same packet');
  });

  it('acknowledges plainly in MQTT 3.1.1', () => {
    const wire = onTheWire(puback(4, 12), 4);
    assert.equal(wire.cmd, 'puback');
    assert.equal(wire.messageId, 12);
  });

  it('tells the device its keepalive when the gateway caps it', () => {
    const wire = onTheWire(
      connackAccepted(5, connect(0), {
        deviceId: 'dev-1',
        keepaliveSeconds: 1200,
        receiveMaximum: 100,
        maximumPacketBytes: 66_565,
      }),
      5,
    );
    assert.equal(wire.cmd === 'connack' && wire.properties?.serverKeepAlive, 1200);
    const kept = connackAccepted(5, connect(60), {
      deviceId: 'dev-1',
      keepaliveSeconds: 60,
      receiveMaximum: 100,
      maximumPacketBytes: 1,
    });
    assert.equal(kept.properties?.serverKeepAlive, undefined);
    assert.equal(kept.properties?.assignedClientIdentifier, undefined);
  });

  it('maps refusals onto the codes each protocol version allows', () => {
    assert.deepEqual(connackRefusal(4, 0x87, 'VIGIL_ERR_TLS_REVOKED'), {
      cmd: 'connack',
      sessionPresent: false,
      returnCode: 5,
    });
    assert.equal(returnCode311For(0x85), 2);
    assert.equal(returnCode311For(0x88), 3);
    assert.equal(connackReasonFor(new VigilError('VIGIL_ERR_INTERNAL', 'x')), 0x88);
    assert.equal(connackReasonFor(new VigilError('VIGIL_ERR_DEVICE_QUARANTINED', 'x')), 0x87);
    assert.equal(
      pubackReasonFor(new VigilError('VIGIL_ERR_MQTT_QOS2', 'x')),
      0x80,
      '0x9B is not a PUBACK reason',
    );
    assert.equal(pubackReasonFor(new VigilError('VIGIL_ERR_INGEST_TOO_LARGE', 'x')), 0x99);
    assert.deepEqual(suback(4, 1, [undefined, 0]).granted, [0x80, 0]);
    assert.equal(onTheWire(disconnectPacket(0x8e), 5).cmd, 'disconnect');
  });
});

describe('TLS refusal', () => {
  it('tells a missing client certificate from a refused one', () => {
    const noCert = Object.assign(new Error('peer did not return a certificate'), {
      code: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE',
    });
    assert.equal(classifyTlsFailure(noCert, null).code, 'VIGIL_ERR_TLS_NO_CERT');
    const hangUp = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const wrongCa = classifyTlsFailure(hangUp, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.deepEqual(wrongCa, {
      code: 'VIGIL_ERR_TLS_BAD_CERT',
      detail: 'client certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    assert.equal(classifyTlsFailure(hangUp, undefined).code, 'VIGIL_ERR_TLS_BAD_CERT');
  });
});
