import { strict as assert } from 'node:assert';
import { CLI_ACTOR } from '../../src/app/actor';
import type { DeviceView } from '../../src/app/device-view';
import { lockOut, PORTS, startPapgateHarness, type PapgateHarness } from '../helpers/papgate-harness';
import { authorization, header, nonceOf, OFFER_SDP, RawPeer, sipRequest, statusOf, tagOf } from '../helpers/sip-raw-peer';

/**
 * When a lock-out ends, papgate sends the phone a check-sync at its registered
 * contact, so its display leaves "Authentication failed" at once. Real SIP on
 * loopback: raw UDP phones register, one is locked out by a wrong PAP typed as
 * SIP INFO in a real IVR call, and the NOTIFY is awaited after the (short) lock-out.
 */

const LOCKOUT_SECONDS = 2;
let seq = 0;
const uniq = (p: string) => `${p}-${process.pid}-${++seq}`;

/** The 200 OK a phone answers a request from papgate with. */
function ok200(req: string): string {
  const copy = ['Via', 'From', 'To', 'Call-ID', 'CSeq'].map((h) => `${h}: ${header(req, h)}`);
  return ['SIP/2.0 200 OK', ...copy, 'Content-Length: 0', '', ''].join('\r\n');
}

/** A raw phone registered as a device's SIP account. */
async function registeredPhone(h: PapgateHarness, d: DeviceView): Promise<RawPeer> {
  const phone = await RawPeer.open();
  const uri = `sip:127.0.0.1:${PORTS.sip}`;
  const callId = uniq('reg');
  const aor = `sip:${d.sipUsername}@127.0.0.1`;
  const register = (cseq: number, extra: string[] = []) =>
    sipRequest({
      method: 'REGISTER',
      uri,
      callId,
      fromTag: 'r1',
      cseq,
      from: aor,
      to: aor,
      viaHost: `127.0.0.1:${phone.port}`,
      contact: `sip:${d.sipUsername}@127.0.0.1:${phone.port}`,
      extra: ['Expires: 300', ...extra],
    });
  phone.send(register(1), PORTS.sip);
  const nonce = nonceOf(await phone.response(401, 'REGISTER'));
  const auth = authorization({ username: d.sipUsername, password: d.sipPassword, realm: h.config.sipRealm, nonce, uri, method: 'REGISTER' });
  phone.send(register(2, [auth]), PORTS.sip);
  await phone.response(200, 'REGISTER');
  return phone;
}

/** Calls *89, types `keys` as SIP INFO (application/dtmf-relay), and answers papgate's BYE. */
async function callAndType(h: PapgateHarness, phone: RawPeer, d: DeviceView, keys: string): Promise<void> {
  const uri = `sip:*89@127.0.0.1:${PORTS.sip}`;
  const callId = uniq('call');
  const viaHost = `127.0.0.1:${phone.port}`;
  const from = `sip:${d.sipUsername}@127.0.0.1`;
  const base = { method: 'INVITE', uri, callId, fromTag: 'c1', from, viaHost, contact: `sip:${d.sipUsername}@${viaHost}`, body: OFFER_SDP };
  phone.send(sipRequest({ ...base, cseq: 1, branch: `z9hG4bK1${callId}` }), PORTS.sip);
  const challenge = await phone.response(401, 'INVITE');
  phone.send(
    sipRequest({ method: 'ACK', uri, callId, fromTag: 'c1', from, toTag: tagOf(header(challenge, 'To')), cseq: 1, viaHost, branch: `z9hG4bK1${callId}` }),
    PORTS.sip,
  );
  const auth = authorization({ username: d.sipUsername, password: d.sipPassword, realm: h.config.sipRealm, nonce: nonceOf(challenge), uri, method: 'INVITE' });
  phone.send(sipRequest({ ...base, cseq: 2, extra: [auth] }), PORTS.sip);
  const answered = await phone.response(200, 'INVITE', 10_000);
  const toTag = tagOf(header(answered, 'To'));
  const inDialog = (method: string, cseq: number, body?: string) =>
    sipRequest({ method, uri, callId, fromTag: 'c1', from, toTag, cseq, viaHost, body, contentType: 'application/dtmf-relay' });
  phone.send(inDialog('ACK', 2), PORTS.sip);
  let cseq = 3;
  for (const key of keys) {
    phone.send(inDialog('INFO', cseq, `Signal=${key}\r\nDuration=160\r\n`), PORTS.sip);
    await phone.take((m) => statusOf(m) === 200 && header(m, 'CSeq') === `${cseq} INFO`, 5000, `200 for INFO ${cseq}`);
    cseq++;
  }
  const bye = await phone.take((m) => m.startsWith('BYE ') && header(m, 'Call-ID') === callId, 15_000, "papgate's BYE");
  phone.send(ok200(bye), PORTS.sip);
}

describe('a lock-out ends with a check-sync NOTIFY to the registered phone (embedded stack)', function () {
  this.timeout(90_000);
  let h: PapgateHarness;
  const phones: RawPeer[] = [];

  before(async () => {
    h = await startPapgateHarness({ env: { PAPGATE_LOCKOUT_SECONDS: String(LOCKOUT_SECONDS), PAPGATE_MAX_FAILURES: '1' } });
  });
  after(async () => {
    for (const p of phones) await p.close();
    await h?.stop();
  });

  const notifies = (m: string) => m.startsWith('NOTIFY ');

  it('sends none while the lock-out lasts, one when it ends; a device reset meanwhile gets none', async () => {
    const resetMeanwhile = await h.addDevice();
    const locked = await h.addDevice();
    const resetPhone = await registeredPhone(h, resetMeanwhile);
    const phone = await registeredPhone(h, locked);
    phones.push(resetPhone, phone);

    // Locked first, then reset by the admin: its lock-out ends before the other one's.
    await lockOut(h, resetMeanwhile);
    assert.equal((await h.device(resetMeanwhile.mac)).state, 'failed');
    await h.instance.services.devices.reset(CLI_ACTOR, resetMeanwhile.mac);

    const wrong = locked.pap === '000000' ? '111111' : '000000';
    await callAndType(h, phone, locked, `${wrong}#`);
    const during = await h.device(locked.mac);
    assert.equal(during.state, 'failed', h.logTail());
    const lockedUntil = Date.parse(during.lockedUntil!);
    assert.ok(Date.now() < lockedUntil, 'the lock-out still lasts (else this test proves nothing: machine too slow)');
    await assert.rejects(phone.take(notifies, 200), /timed out/, 'no NOTIFY while locked out');

    const notify = await phone.take(notifies, (LOCKOUT_SECONDS + 20) * 1000, 'the check-sync NOTIFY');
    assert.ok(Date.now() >= lockedUntil, 'not before the lock-out ends');
    phone.send(ok200(notify), PORTS.sip);
    assert.equal(header(notify, 'Event'), 'check-sync');
    assert.match(notify.split('\r\n')[0]!, new RegExp(`^NOTIFY sip:${locked.sipUsername}@127\\.0\\.0\\.1:${phone.port}\\b`));
    assert.equal((await h.device(locked.mac)).state, 'needed');

    await assert.rejects(resetPhone.take(notifies, 200), /timed out/, 'the reset device was not in its lock-out any more');
  });
});
