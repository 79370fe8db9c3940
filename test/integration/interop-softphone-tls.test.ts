import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { startPapgateHarness, until, type PapgateHarness } from '../helpers/papgate-harness';
import { requireTool } from '../helpers/required-tools';
import { RawPeer } from '../helpers/sip-raw-peer';
import { SrtpReceiver } from '../../src/media/embedded/srtp';
import { dumpcapMissing, eventDigits, startLoopbackCapture, type CapturedDatagram } from '../helpers/loopback-capture';
import { portLayout } from '../helpers/ports';
import { baresipMissing, baresipSrtpMissing, startBaresip, type Baresip } from '../helpers/softphone';
import { issue, makeCa, replaceFile, type IssuedPair, type TestCa } from '../helpers/test-certificates';

// papgate with SIP over TLS (PAPGATE_SIP_TLS_PORT, its own certificate from a
// CA made here) and a real soft-phone: baresip registers over TLS, dials *89
// and types its PAP; papgate's BYE and check-sync NOTIFY reach it over the
// same TLS connection. baresip 1.0 loads `sip_cafile` but does not refuse a
// server certificate from another CA (tried), so certificate checking is
// proven by the node:tls clients here and in sip-tls.test.ts. Also what the minimal
// configuration tells a phone, and a certificate renewal picked up by the
// SIP TLS listener without a restart.
//
// Then both at once, as a deployment that encrypts end to end would run:
// SIP over TLS and SRTP (baresip `mediaenc=srtp-mand`); a capture of every
// UDP datagram on lo during that call shows neither SIP nor the SDES keys,
// and the PAP cannot be read from its RTP events.
//
// Ports: papgate's SIP UDP and TLS ports are chosen by the OS; papgate RTP
// and the phones' ports are offsets in one free block (portLayout).
let RTP_MIN = 0,
  RTP_MAX = 0,
  PHONE = 0,
  PHONE_SRTP = 0; // from portLayout() in the suite's first hook

/** The fingerprint of the certificate the SIP TLS port presents now, checked against the CA. */
function presented(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', ca, servername: 'sip.test', timeout: 10_000 }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.destroy();
      resolve(fp);
    });
    s.once('error', reject);
    s.once('timeout', () => {
      s.destroy();
      reject(new Error('TLS handshake timed out'));
    });
  });
}

describe('interop: baresip over SIP TLS registers, calls *89 and types its PAP', function () {
  this.timeout(120_000);
  let h: PapgateHarness | undefined;
  let phone: Baresip | undefined;
  let ca: TestCa;
  let first: IssuedPair;
  let live: { certPath: string; keyPath: string };
  let tlsPort = 0;
  /** The emergency gateway: a bare UDP socket that only records what papgate forwards. */
  let gateway: RawPeer | undefined;

  before(async function () {
    requireTool(this, 'baresip', 'a real soft-phone authenticates over SIP TLS', baresipMissing());
    ({ RTP_MIN, RTP_MAX, PHONE, PHONE_SRTP } = await portLayout({ RTP_MIN: 0, RTP_MAX: 39, PHONE: 40, PHONE_SRTP: 60 }));
    ca = makeCa(mkdtempSync(join(tmpdir(), 'papgate-sip-tls-')));
    first = issue(ca, 'first', 'sip.test');
    live = { certPath: join(ca.dir, 'live.crt'), keyPath: join(ca.dir, 'live.key') };
    copyFileSync(first.certPath, live.certPath);
    copyFileSync(first.keyPath, live.keyPath);
    gateway = await RawPeer.open();
    h = await startPapgateHarness({
      gatewayPort: gateway.port,
      env: {
        PAPGATE_SIP_PORT: '0',
        PAPGATE_RTP_PORT_MIN: String(RTP_MIN),
        PAPGATE_RTP_PORT_MAX: String(RTP_MAX),
        PAPGATE_SIP_TLS_PORT: '0',
        PAPGATE_SIP_TLS_CERT: live.certPath,
        PAPGATE_SIP_TLS_KEY: live.keyPath,
        PAPGATE_TLS_RELOAD_SECONDS: '0.2',
        PAPGATE_TLS_HANDSHAKE_SECONDS: '5',
      },
    });
    tlsPort = h.instance.sipTlsPort ?? 0;
    assert.ok(tlsPort > 0, 'papgate listens for SIP over TLS');
  });
  after(async () => {
    await phone?.stop();
    await h?.stop();
    await gateway?.close();
    if (ca) rmSync(ca.dir, { recursive: true, force: true });
  });

  it('the minimal configuration points a Yealink at TLS on the SIP TLS port', async () => {
    const d = await h!.addDevice({ vendor: 'yealink', model: 'T46S' });
    const res = await fetch(`${h!.instance.provisioningUrl}/${d.mac}.cfg`);
    const body = await res.text();
    assert.equal(res.status, 200);
    assert.match(body, /^account\.1\.sip_server\.1\.transport_type = 2$/m, body);
    assert.match(body, new RegExp(`^account\\.1\\.sip_server\\.1\\.port = ${tlsPort}$`, 'm'), body);
  });

  it("right PAP over TLS: the device is successful; BYE and check-sync come back over the phone's TLS connection; 112 reaches the gateway", async () => {
    const harness = h!;
    const d = await harness.addDevice();
    phone = await startBaresip({
      username: d.sipUsername,
      password: d.sipPassword,
      registrar: `127.0.0.1:${tlsPort}`,
      basePort: PHONE,
      transport: 'tls',
      caFile: ca.certPath,
    });
    const p = phone;
    const reg = await until(() => harness.instance.signalling!.registration(d.sipUsername), 'REGISTER over TLS accepted', harness, 15_000).catch((e: Error) => {
      throw new Error(`${e.message}\n--- baresip ---\n${p.output()}`);
    });
    assert.equal(reg.source.transport, 'tls');
    await p.waitSip((m) => m.direction === 'in' && m.status === 200 && /REGISTER/.test(m.headers.cseq ?? ''), '200 OK to the REGISTER at the phone');
    assert.ok(
      p.sipTrace().every((m) => /^SIP\/2\.0\/TLS /.test(m.headers.via ?? 'SIP/2.0/TLS')),
      'every message went over TLS',
    );

    const callId = await p.dial('*89');
    await p.waitEvent('CALL_RTPESTAB', (e) => e.id === callId);
    await p.sendDigits(`${d.pap}#`);
    await p.waitEvent('CALL_CLOSED', (e) => e.id === callId, 30_000);
    const bye = await p.waitSip((m) => m.headers['call-id'] === callId && m.direction === 'in' && m.method === 'BYE', 'BYE from papgate');
    assert.equal(bye.from, `127.0.0.1:${tlsPort}`);
    assert.match(bye.headers.via ?? '', /^SIP\/2\.0\/TLS /);

    const state = await until(async () => ((await harness.device(d.mac)).state === 'successful' ? 'successful' : undefined), 'device successful', harness);
    assert.equal(state, 'successful');
    const notify = await p.waitSip((m) => m.direction === 'in' && m.method === 'NOTIFY', 'check-sync NOTIFY over TLS');
    assert.equal(notify.headers.event, 'check-sync');
    assert.equal(notify.from, `127.0.0.1:${tlsPort}`);
    assert.match(notify.headers.via ?? '', new RegExp(`^SIP/2\\.0/TLS 127\\.0\\.0\\.1:${tlsPort};`));

    // An emergency call over the same TLS registration reaches the gateway.
    await p.command('dial', '112');
    const forwarded = await gateway!.take((m) => m.startsWith('INVITE '), 15_000, 'the emergency INVITE at the gateway');
    assert.match(forwarded, /^INVITE sip:112@127\.0\.0\.1:\d+ SIP\/2\.0/);
  });

  it('SIP over TLS and SRTP together: the PAP authenticates; on the wire neither SIP, nor the keys, nor the PAP is readable', async function () {
    if (baresipSrtpMissing() || dumpcapMissing()) {
      requireTool(this, 'baresip', 'baresip speaks SRTP over SIP TLS', baresipSrtpMissing());
      requireTool(this, 'tshark', "the call's UDP is captured on lo", dumpcapMissing());
    }
    const harness = h!;
    const d = await harness.addDevice();
    const p = await startBaresip({
      username: d.sipUsername,
      password: d.sipPassword,
      registrar: `127.0.0.1:${tlsPort}`,
      basePort: PHONE_SRTP,
      transport: 'tls',
      caFile: ca.certPath,
      mediaenc: 'srtp-mand',
    });
    try {
      await until(() => harness.instance.signalling!.registration(d.sipUsername), 'REGISTER over TLS accepted', harness, 15_000).catch((e: Error) => {
        throw new Error(`${e.message}\n--- baresip ---\n${p.output()}`);
      });
      const capture = await startLoopbackCapture('udp');
      let datagrams: CapturedDatagram[];
      let callId: string;
      try {
        callId = await p.dial('*89');
        await p.waitEvent('CALL_RTPESTAB', (e) => e.id === callId);
        await p.sendDigits(`${d.pap}#`);
        await p.waitEvent('CALL_CLOSED', (e) => e.id === callId, 30_000);
        await until(async () => ((await harness.device(d.mac)).state === 'successful' ? true : undefined), 'device successful', harness);
      } finally {
        datagrams = await capture.stop();
      }
      const invite = p.sipTrace().find((m) => m.headers['call-id'] === callId && m.direction === 'out' && m.method === 'INVITE' && /a=crypto:/.test(m.text));
      assert.ok(invite, 'the phone offered SDES keys (inside TLS)');
      assert.match(invite.text, /^m=audio \d+ RTP\/SAVP /m);
      const line = /^a=crypto:\d+ (AES_CM_128_HMAC_SHA1_(?:80|32)) inline:([A-Za-z0-9+/]{40})/m.exec(invite.text)!;
      const phoneKey = Buffer.from(line[2]!, 'base64');
      const eventPt = Number(/^a=rtpmap:(\d+) telephone-event\/8000/m.exec(invite.text)?.[1]);

      // This phone's datagrams (its ports, papgate's RTP range); the earlier test's emergency call may still be retrying to its gateway.
      const ours = (port: number) => (port >= PHONE_SRTP && port < PHONE_SRTP + 20) || (port >= RTP_MIN && port <= RTP_MAX);
      const all = Buffer.concat(datagrams.filter((g) => ours(g.srcPort) || ours(g.dstPort)).map((g) => g.payload));
      assert.ok(!all.includes('SIP/2.0'), 'no SIP message of this phone crossed lo as UDP: signalling went over TLS');
      for (const text of [line[2]!, phoneKey.toString('hex')]) assert.ok(!all.includes(text), 'the SDES key is nowhere in the captured UDP');
      const fromPhone = datagrams.filter((g) => g.dstPort >= RTP_MIN && g.dstPort <= RTP_MAX).map((g) => g.payload);
      assert.ok(fromPhone.length > 20, `the phone's RTP was captured (${fromPhone.length} packets)`);
      const naive = eventDigits(fromPhone, eventPt);
      assert.ok(naive.length > 0 && !naive.includes(d.pap!), `the PAP cannot be read from the RTP events (read as "${naive}")`);
      const rx = new SrtpReceiver(line[1] as 'AES_CM_128_HMAC_SHA1_80', phoneKey);
      const opened = fromPhone.map((w) => rx.unprotect(w)).flatMap((r) => (r.ok ? [r.packet] : []));
      assert.equal(eventDigits(opened, eventPt), `${d.pap}#`, 'the same packets, opened with the key from inside TLS, hold the PAP');
    } finally {
      await p.stop();
    }
  });

  it('picks up a renewed certificate for new connections without a restart', async () => {
    assert.equal(await presented(tlsPort, ca.pem), first.fingerprint256);
    const second = issue(ca, 'second', 'sip.test');
    replaceFile(live.keyPath, readFileSync(second.keyPath));
    replaceFile(live.certPath, readFileSync(second.certPath));
    const seen = await until(
      async () => {
        const fp = await presented(tlsPort, ca.pem).catch(() => undefined);
        return fp === second.fingerprint256 ? fp : undefined;
      },
      'the renewed certificate on the SIP TLS port',
      h!,
    );
    assert.equal(seen, second.fingerprint256);
  });
});
