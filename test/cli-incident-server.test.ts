/**
 * The operator's console against a running Vigil: `vigil device revoke / quarantine / release`
 * and `vigil token revoke` run as separate processes on the server's data dir, and the server,
 * which learns of them only through the store, cuts the device (or the token) off.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { runVigil } from './support/cli-process.ts';
import { until } from './support/until.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

/** What a device is told when Vigil closes its connection: the MQTT 5 DISCONNECT, if one came. */
interface CutOff {
  reasonCode: number | undefined;
  reasonString: string | undefined;
}

/** Resolves once Vigil closed the connection; fails the test if it stays open 10 s. */
function cutOff(client: MqttClient): Promise<CutOff> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the device is still connected after 10 s')), 10_000);
    let told: CutOff = { reasonCode: undefined, reasonString: undefined };
    client.once('disconnect', (packet) => {
      told = { reasonCode: packet.reasonCode, reasonString: packet.properties?.reasonString };
    });
    client.once('close', () => {
      clearTimeout(timer);
      resolve(told);
    });
  });
}

describe('vigil device and token commands while the server runs', { timeout: 180_000 }, () => {
  let h: Harness;
  const cli = async (...args: string[]) => {
    const r = await runVigil(args, { env: { USER: 'ops-test', VIGIL_DATA_DIR: h.dataDir } });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const audit = (deviceId: string, action: string) =>
    h.vigil.store.db
      .selectFrom('audit_log')
      .select(['actor', 'purpose'])
      .where('resource', '=', `Device/${deviceId}`)
      .where('action', '=', action)
      .execute();
  /** The relay's security event of a quarantine, not the refusals of the device's reconnections. */
  const quarantineEvents = (deviceId: string) =>
    h.vigil.store.db
      .selectFrom('security_events')
      .select(['detail'])
      .where('device_id', '=', deviceId)
      .where('code', '=', 'VIGIL_ERR_DEVICE_QUARANTINED')
      .where('detail', 'like', `device ${deviceId} quarantined by %`)
      .execute();
  /** Longer than two passes of the relay (1 s each): a second entry would have come by then. */
  const relayPasses = () => new Promise((r) => setTimeout(r, 2500));

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  it('cuts off a revoked device at once, telling it why, and refuses it from then on', async () => {
    const creds = await h.enrol('ox-stolen', 'pat-rev');
    const live = await h.connect(creds, 'ox-stolen');
    const closed = cutOff(live);
    const r = await cli('device', 'revoke', '--id', 'ox-stolen', '--reason', 'reported stolen', '--json');
    assert.deepEqual(JSON.parse(r.stdout), { id: 'ox-stolen', revokedCertificates: 1 });
    // The server's poll of the store saw a certificate revoked, not a quarantine.
    assert.deepEqual(await closed, { reasonCode: 0x87, reasonString: 'VIGIL_ERR_TLS_REVOKED' });
    assert.equal(h.vigil.gateway.isConnected('ox-stolen' as never), false);
    await assert.rejects(h.connect(creds, 'ox-stolen'));
    assert.deepEqual(await audit('ox-stolen', 'device.revoke'), [
      { actor: 'cli:ops-test', purpose: 'reported stolen' },
    ]);
  });

  it('cuts off a quarantined device, refuses it, and the relay audits and records the quarantine once', async () => {
    const creds = await h.enrol('ox-odd', 'pat-q');
    const live = await h.connect(creds, 'ox-odd');
    const closed = cutOff(live);
    const r = await cli('device', 'quarantine', '--id', 'ox-odd', '--reason', 'beaconing to 203.0.113.9');
    assert.match(r.stdout, /^device ox-odd quarantined: beaconing to 203\.0\.113\.9$/m);
    assert.deepEqual(await closed, { reasonCode: 0x87, reasonString: 'VIGIL_ERR_DEVICE_QUARANTINED' });
    await assert.rejects(h.connect(creds, 'ox-odd'));

    await until('the relay to audit the quarantine', async () =>
      (await audit('ox-odd', 'device.quarantine')).length > 0 ? true : undefined,
    );
    await relayPasses();
    const entries = await audit('ox-odd', 'device.quarantine');
    assert.equal(entries.length, 1, JSON.stringify(entries));
    assert.equal(entries[0]?.actor, 'cli:ops-test');
    assert.match(entries[0]?.purpose ?? '', /^beaconing to 203\.0\.113\.9 \(device event \d+\)$/);
    const events = await quarantineEvents('ox-odd');
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.match(events[0]?.detail ?? '', /quarantined by cli:ops-test/);

    // Released from the console, it may connect again; the release is audited once as well.
    const released = await cli('device', 'release', '--id', 'ox-odd');
    assert.match(released.stdout, /^device ox-odd released from quarantine$/m);
    await until('the server to let the device in again', () =>
      h.vigil.directory.isQuarantined('ox-odd') ? undefined : true,
    );
    const again = await h.connect(creds, 'ox-odd');
    again.end(true);
    await until('the relay to audit the release', async () =>
      (await audit('ox-odd', 'device.release')).length > 0 ? true : undefined,
    );
    await relayPasses();
    assert.equal((await audit('ox-odd', 'device.release')).length, 1);
    assert.equal((await quarantineEvents('ox-odd')).length, 1, 'a release is no security event');
  });

  it('relays a quarantine made while no server ran at its next start, once', async () => {
    const creds = await h.enrol('ox-late', 'pat-late');
    await h.restart(async () => {
      await cli('device', 'quarantine', '--id', 'ox-late', '--reason', 'seen on the wrong VLAN');
    });
    await assert.rejects(h.connect(creds, 'ox-late'));
    await until('the relay to audit the quarantine', async () =>
      (await audit('ox-late', 'device.quarantine')).length > 0 ? true : undefined,
    );
    await relayPasses();
    assert.equal((await audit('ox-late', 'device.quarantine')).length, 1);
    assert.equal((await quarantineEvents('ox-late')).length, 1);
  });

  it('revokes an API token the server then refuses, given the leaked token itself', async () => {
    const leaked = await new ApiTokens(h.vigil.store.db).create({
      role: 'admin',
      name: 'leaked-admin',
      ttlSeconds: 3600,
    });
    assert.equal((await h.api('/api/v1/devices', { token: leaked.token })).status, 200);
    const r = await cli('token', 'revoke', '--id', leaked.token, '--json');
    assert.deepEqual(JSON.parse(r.stdout), {
      id: leaked.id,
      name: 'leaked-admin',
      role: 'admin',
      revoked: true,
    });
    // The server rereads a token's row after at most 5 s (ApiTokens.verify).
    await until('the server to refuse the revoked token', async () =>
      (await h.api('/api/v1/devices', { token: leaked.token })).status === 401 ? true : undefined,
    );
    const entries = await h.vigil.store.db
      .selectFrom('audit_log')
      .select(['actor'])
      .where('action', '=', 'token.revoke')
      .where('resource', '=', `ApiToken/${leaked.id}`)
      .execute();
    assert.deepEqual(entries, [{ actor: 'cli:ops-test' }]);
  });
});
