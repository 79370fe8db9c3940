import assert from 'node:assert/strict';
import { SipGate } from '../../src/app/sip-gate';
import { SourceLimits } from '../../src/app/source-limits';
import { cryptoRandom } from '../../src/ports/random';
import { silentLogger } from '../../src/ports/logger';
import { DrachtioSignalling } from '../../src/sip/drachtio/drachtio-signalling';
import { FakeDrachtioServer, header, phoneRequest } from '../helpers/fake-drachtio-server';
import { portLayout } from '../helpers/ports';

/** The per-source SIP limit on the production stack (real drachtio-srf against a fake drachtio-server on the wire). */

type Source = NonNullable<Parameters<FakeDrachtioServer['fromNetwork']>[1]>;
const ATTACKER: Source = { address: '198.51.100.1', port: 5062, protocol: 'udp' };
const OTHER: Source = { address: '198.51.100.2', port: 5062, protocol: 'udp' };

let PORT = 0; // from portLayout() in the suite's first hook

describe('attack: SIP request flood on the drachtio stack', function () {
  before(async () => {
    ({ PORT } = await portLayout({ PORT: 0 }));
  });
  this.timeout(15_000);
  let server: FakeDrachtioServer;
  let sig: DrachtioSignalling;
  const now = 1_800_000_000_000;

  before(async () => {
    server = new FakeDrachtioServer();
    await server.listen(PORT);
    const clock = { now: () => now };
    const gate = new SipGate({
      realm: 'papgate.test',
      emergencyNumbers: ['112'],
      nonceTtlMs: 60_000,
      lookupAccount: async () => null,
      clock,
      random: cryptoRandom,
    });
    const limits = new SourceLimits(
      {
        sipRequestsPerSecond: 1,
        sipRequestsBurst: 3,
        ivrCallsPerMinutePerSource: 0,
        ivrCallsPerMinutePerDevice: 0,
        provisioning404PerMinute: 0,
        provisioning404Burst: 1,
        provisioningPerSecond: 0,
        provisioningBurst: 1,
        maxSources: 100,
        exempt: [],
      },
      clock,
    );
    sig = new DrachtioSignalling({ host: '127.0.0.1', port: PORT, secret: 'cymru', gate, clock, log: silentLogger, limits });
    await sig.start({ handle: async () => undefined });
    await server.waitForRoutes(['register', 'invite']);
  });

  after(async () => {
    await sig?.stop();
    await server?.close();
  });

  it('answers 503 + Retry-After past the budget, spares other sources and emergency INVITEs', async () => {
    const register = (source: Source, i: number) =>
      server.finalResponse(
        server.fromNetwork(phoneRequest('REGISTER', 'sip:127.0.0.1', { user: 'dev1', to: '<sip:dev1@127.0.0.1>', callId: `flood-${i}` }), source),
      );
    for (let i = 0; i < 3; i++) assert.equal((await register(ATTACKER, i)).status, 401);
    const refused = await register(ATTACKER, 3);
    assert.equal(refused.status, 503);
    assert.equal(header(refused, 'retry-after'), '1');
    assert.equal((await register(OTHER, 4)).status, 401, 'another source is not limited');

    const invite = (to: string) =>
      server.finalResponse(
        server.fromNetwork(
          phoneRequest('INVITE', `sip:${to}@127.0.0.1`, { user: 'dev1', callId: `inv-${to}`, body: 'v=0\r\n', headers: { 'Content-Type': 'application/sdp' } }),
          ATTACKER,
        ),
      );
    assert.equal((await invite('*89')).status, 503);
    assert.equal((await invite('112')).status, 401, 'the emergency INVITE is admitted as usual, not refused for its rate');
  });
});
