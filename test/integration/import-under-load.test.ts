import assert from 'node:assert/strict';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { PORTS, startPapgateHarness, type PapgateHarness } from '../helpers/papgate-harness';
import { RawPeer, sipRequest, statusOf } from '../helpers/sip-raw-peer';

// A 50,000-row CSV import over the admin REST API while phones keep
// talking: SIP OPTIONS and provisioning polls go on, and are counted. papgate
// runs in this process, so the event loop measured here is papgate's.
// Latencies are printed for the closing report, not asserted.

const ROWS = 50_000;
const ADMIN_TOKEN = 'import-under-load-admin-token';

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
};
const fmt = (xs: number[]) =>
  `n=${xs.length} p50=${quantile(xs, 0.5).toFixed(1)} ms p99=${quantile(xs, 0.99).toFixed(1)} ms max=${Math.max(...xs).toFixed(1)} ms`;

describe('a 50,000-row CSV import while phones keep talking', function () {
  this.timeout(300_000);
  let h: PapgateHarness;
  let peer: RawPeer;
  let seq = 0;

  before(async () => {
    h = await startPapgateHarness({ env: { PAPGATE_ADMIN_TOKEN: ADMIN_TOKEN, PAPGATE_LOG_LEVEL: 'info' }, gatewayPort: null });
    peer = await RawPeer.open();
  });
  after(async () => {
    await peer?.close();
    await h?.stop();
  });

  async function options(): Promise<number> {
    const callId = `imp-${++seq}@load.test`;
    const t0 = performance.now();
    peer.send(
      sipRequest({
        method: 'OPTIONS',
        uri: `sip:papgate@127.0.0.1:${PORTS.sip}`,
        callId,
        fromTag: `t${seq}`,
        cseq: 1,
        viaHost: `127.0.0.1:${peer.port}`,
      }),
      PORTS.sip,
    );
    await peer.take((m) => statusOf(m) === 200 && m.includes(callId), 10_000, `200 for ${callId}`);
    return performance.now() - t0;
  }

  /** Provisioning answers other than 200 (a write that waited past the store's deadline gets 503). */
  const refused: number[] = [];

  async function provision(mac: string): Promise<number> {
    const t0 = performance.now();
    const r = await fetch(`${h.instance.provisioningUrl}/${mac}.cfg`, { signal: AbortSignal.timeout(10_000) });
    await r.text();
    if (r.status !== 200) refused.push(r.status);
    return performance.now() - t0;
  }

  /** Runs `probe` back to back until `stop()` says so; the latencies it measured. */
  function keepProbing(probe: () => Promise<number>) {
    const samples: number[] = [];
    let on = true;
    const done = (async () => {
      while (on) {
        samples.push(await probe());
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    return {
      samples,
      stop: async () => {
        on = false;
        await done;
        return samples;
      },
    };
  }

  it('imports every row while SIP OPTIONS and provisioning polls keep being answered', async () => {
    const polled = await h.addDevice();
    await provision(polled.mac); // records last-seen: the polls below only read
    const idleSip = keepProbing(options);
    const idleProv = keepProbing(() => provision(polled.mac));
    await new Promise((r) => setTimeout(r, 1500));
    const idle = { sip: await idleSip.stop(), prov: await idleProv.stop() };

    const lines = ['mac,vendor,model,site'];
    for (let i = 0; i < ROWS; i++) lines.push(`02ee${i.toString(16).padStart(8, '0')},yealink,T46S,head-office`);
    const csv = `${lines.join('\r\n')}\r\n`;

    const loop = monitorEventLoopDelay({ resolution: 1 });
    const sip = keepProbing(options);
    const prov = keepProbing(() => provision(polled.mac));
    loop.enable();
    const t0 = performance.now();
    const res = await fetch(`${h.instance.adminUrl}/api/v1/tenants/${h.tenant}/import`, {
      method: 'POST',
      body: csv,
      headers: { 'Content-Type': 'text/csv', Authorization: `Bearer ${ADMIN_TOKEN}` },
      signal: AbortSignal.timeout(240_000),
    });
    const text = await res.text();
    const importMs = performance.now() - t0;
    loop.disable();
    const during = { sip: await sip.stop(), prov: await prov.stop() };

    assert.equal(res.status, 201, text.slice(0, 500));
    const body = JSON.parse(text) as { imported: number; devices: { mac: string; pap: string }[] };
    assert.equal(body.imported, ROWS);
    assert.equal(body.devices.length, ROWS);
    assert.match(body.devices[ROWS - 1]!.pap, /^\d{6}$/);
    assert.equal(await h.instance.store.countDevices(), ROWS + 1, 'every row landed');
    const last = await h.instance.store.getDevice(`02ee${(ROWS - 1).toString(16).padStart(8, '0')}`);
    assert.equal(last?.auth.pap, body.devices[ROWS - 1]!.pap, 'the PAP returned is the one stored');
    assert.ok(during.sip.length > 0 && during.prov.length > 0, 'phones were answered during the import');
    // A poll that must record last-seen waits for the import's transaction; past the deadline it is told 503.
    assert.deepEqual(
      refused.filter((s) => s !== 503),
      [],
      'nothing but 200 or a clear 503',
    );
    const committed = /"lockHeldMs":(\d+)/.exec(h.logTail(4000))?.[1];

    console.log(`      [figures, 2-core shared machine, loaded by parallel work]
      import of ${ROWS} rows over REST: ${(importMs / 1000).toFixed(1)} s
      SIP OPTIONS idle ${fmt(idle.sip)} | during import ${fmt(during.sip)}
      provisioning poll idle ${fmt(idle.prov)} | during import ${fmt(during.prov)}
      import transaction held the write lock ${committed ?? '?'} ms; provisioning answers refused (503): ${refused.length}
      event loop delay during import: p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms`);
  });
});
