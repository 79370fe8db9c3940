import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { CLI_ACTOR } from '../../src/app/actor';
import { get, startProvisioningTarget, type ProvisioningTarget } from '../helpers/provisioning-attack';
import { connectFrom, settlesWithin, type TcpPeer } from '../helpers/tcp-peer';

/**
 * MAC enumeration against the provisioning server: a scanner that collects
 * 404s gets 429 for everything, known MAC or not, while phones elsewhere are
 * served. Guessing identity secrets for a known MAC spends the same budget. papgate's clock stands still here, so budgets refill only when the
 * test moves it.
 */

const BURST = 20;
const SCANNER = '127.0.0.3';
const PHONE = '127.0.0.2';
const PROXY = '127.0.0.9';

describe('attack: MAC enumeration of provisioning', function () {
  this.timeout(60_000);
  let t: ProvisioningTarget;
  let now = 1_800_000_000_000;
  let known: string;

  before(async () => {
    t = await startProvisioningTarget(
      {
        PAPGATE_LIMIT_PROVISIONING_404_PER_MINUTE: '6',
        PAPGATE_LIMIT_PROVISIONING_404_BURST: String(BURST),
        PAPGATE_TRUSTED_PROXIES: PROXY,
      },
      { now: () => now },
    );
    known = await t.addDevice('001565aa0001');
  });
  after(async () => t?.stop());

  const randomMac = (i: number) => `001565${(0xb00000 + i).toString(16)}`;

  async function scanUntil429(from: string, headers?: Record<string, string>): Promise<{ notFound: number; retryAfter: string | undefined }> {
    for (let i = 0, notFound = 0; i < 10 * BURST; i++) {
      const r = await get(t.port, `/${randomMac(i)}.cfg`, from, { headers });
      if (r.status === 429) return { notFound, retryAfter: r.headers['retry-after'] };
      assert.equal(r.status, 404);
      notFound++;
    }
    throw new Error('the scan was never limited');
  }

  it('a scanner gets 429 + Retry-After for every path after its 404 budget, a phone elsewhere keeps its configuration', async () => {
    for (let i = 0; i < 50; i++) assert.equal((await get(t.port, `/${known}.cfg`, PHONE)).status, 200, 'a phone polling normally never trips it');

    const scan = await scanUntil429(SCANNER);
    assert.equal(scan.notFound, BURST, 'the burst of 404s, then 429');
    assert.equal(scan.retryAfter, '10', 'one 404 more is allowed 10 s later (6 a minute)');
    for (const path of [`/${known}.cfg`, '/y000000000028.cfg', '/nothing-here', `/p/abcdefghijklmnopqrstuv/${known}.cfg`]) {
      const r = await get(t.port, path, SCANNER);
      assert.equal(r.status, 429, `${path}: no hint whether the MAC exists`);
      assert.match(r.headers['retry-after'] ?? '', /^[1-9]\d*$/);
    }
    assert.equal((await get(t.port, `/${known}.cfg`, SCANNER, { method: 'HEAD' })).status, 429);
    assert.equal((await get(t.port, `/${known}.cfg`, PHONE)).status, 200, 'the phone on another address is served');

    const m = await t.instance.metrics.rateLimited.get();
    assert.ok((m.values.find((v) => v.labels.limit === 'provisioning_404')?.value ?? 0) >= 6);

    now += 10_000;
    assert.equal((await get(t.port, `/${randomMac(999)}.cfg`, SCANNER)).status, 404, 'the budget refilled by one');
    assert.equal((await get(t.port, `/${known}.cfg`, SCANNER)).status, 429);
    console.log(`      scan: ${scan.notFound} 404s before the first 429 (burst ${BURST}, 6/min)`);
  });

  it('behind a trusted proxy each client is limited by its X-Forwarded-For; a forged one from elsewhere changes nothing', async () => {
    const viaProxy = (client: string) => ({ 'x-forwarded-for': client });
    const scan = await scanUntil429(PROXY, viaProxy('198.51.100.7'));
    assert.equal(scan.notFound, BURST);
    assert.equal((await get(t.port, `/${known}.cfg`, PROXY, { headers: viaProxy('198.51.100.8') })).status, 200, 'another client behind the proxy');
    assert.equal((await get(t.port, `/${known}.cfg`, PROXY, { headers: viaProxy('198.51.100.7') })).status, 429);

    // 127.0.0.4 is no proxy: its X-Forwarded-For is ignored, each forged value still counts against 127.0.0.4.
    let forged = 0;
    for (let i = 0; i < 10 * BURST; i++) {
      const r = await get(t.port, `/${randomMac(500 + i)}.cfg`, '127.0.0.4', { headers: viaProxy(`203.0.113.${i % 250}`) });
      if (r.status === 429) break;
      forged++;
    }
    assert.equal(forged, BURST);
  });

  it('guessing identity secrets for a known MAC spends the same budget; a phone using its own secret spends none', async () => {
    const GUESSER = '127.0.0.5';
    const TRUSTED = '127.0.0.6';
    const ROAMING = '127.0.0.7';
    const guess = () => randomBytes(24).toString('base64url'); // a secret's shape (identity-secret.ts), not the device's

    let guesses = 0;
    for (let i = 0; i < 10 * BURST; i++) {
      const r = await get(t.port, `/p/${guess()}/${known}.cfg`, GUESSER);
      if (r.status === 429) break;
      assert.equal(r.status, 200, 'a wrong secret gets what the MAC alone gets (the minimal configuration)');
      assert.doesNotMatch(r.body, /\/p\/[A-Za-z0-9_-]+\//, 'and no per-device URL');
      guesses++;
    }
    assert.equal(guesses, BURST, 'the burst of refused secrets, then 429');
    assert.equal((await get(t.port, `/${known}.cfg`, GUESSER)).status, 429, 'then even the plain file: no hint');
    assert.equal((await get(t.port, `/p/malformed/${known}.cfg`, PHONE)).status, 200, 'one malformed secret elsewhere: served');

    // A phone with its real secret: full configurations from an untrusted address, the secret rotating each time.
    await t.instance.services.allowList.add(CLI_ACTOR, t.tenant, `${TRUSTED}/32`);
    const secretOf = (body: string) => /\/p\/([A-Za-z0-9_-]+)\//.exec(body)?.[1];
    let secret = secretOf((await get(t.port, `/${known}.cfg`, TRUSTED)).body);
    for (let i = 0; i < BURST + 5; i++) {
      assert.ok(secret, 'a full configuration names the per-device URL');
      const r = await get(t.port, `/p/${secret}/${known}.cfg`, ROAMING);
      assert.equal(r.status, 200);
      secret = secretOf(r.body);
    }
    const scan = await scanUntil429(ROAMING);
    assert.equal(scan.notFound, BURST, 'its budget is whole');
  });
});

describe('attack: a flood of good requests from one address', function () {
  this.timeout(60_000);
  let t: ProvisioningTarget;
  let now = 1_800_000_000_000;

  before(async () => {
    t = await startProvisioningTarget({ PAPGATE_LIMIT_PROVISIONING_PER_SECOND: '2', PAPGATE_LIMIT_PROVISIONING_BURST: '10' }, { now: () => now });
  });
  after(async () => t?.stop());

  it('answers one address its burst of requests for a known MAC, then 429 until the budget refills; other addresses are served', async () => {
    const mac = await t.addDevice('001565dd0001');
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) statuses.push((await get(t.port, `/${mac}.cfg`, '127.0.0.3')).status);
    assert.deepEqual(statuses, [...Array<number>(10).fill(200), ...Array<number>(5).fill(429)], 'the burst, then nothing but 429');
    const refused = await get(t.port, `/${mac}.cfg`, '127.0.0.3');
    assert.equal(refused.headers['retry-after'], '1', '2 a second');
    assert.equal(refused.body, 'too many requests\n', 'no configuration');
    assert.equal((await get(t.port, '/y000000000028.cfg', '127.0.0.3')).status, 429, 'a common file too');
    assert.equal((await get(t.port, `/${mac}.cfg`, '127.0.0.2')).status, 200, 'a phone elsewhere is served');

    now += 1000;
    assert.equal((await get(t.port, `/${mac}.cfg`, '127.0.0.3')).status, 200, 'a second later: two more');
    assert.equal((await get(t.port, `/${mac}.cfg`, '127.0.0.3')).status, 200);
    assert.equal((await get(t.port, `/${mac}.cfg`, '127.0.0.3')).status, 429);
    const m = await t.instance.metrics.rateLimited.get();
    assert.equal(m.values.find((v) => v.labels.limit === 'provisioning_requests')?.value, 8);
  });

  it('closes at once the connections of an address that connects faster than twice its request budget', async () => {
    const held: TcpPeer[] = [];
    try {
      for (let i = 0; i < 20; i++) held.push(await connectFrom(t.port, '127.0.0.4')); // twice the burst of 10
      const over = await connectFrom(t.port, '127.0.0.4');
      held.push(over);
      assert.ok(await settlesWithin(over.closed, 5000), 'the 21st connection is closed at once');
      assert.equal(over.received(), '', 'without an answer (over TLS: before the handshake)');
      assert.equal(held[19]!.socket.destroyed, false, 'the ones within the budget stay');
      assert.equal((await get(t.port, '/y000000000028.cfg', '127.0.0.5')).status, 200, 'another address connects');
      const m = await t.instance.metrics.rateLimited.get();
      assert.equal(m.values.find((v) => v.labels.limit === 'provisioning_new_connections')?.value, 1);
    } finally {
      for (const p of held) p.socket.destroy();
    }
  });
});
