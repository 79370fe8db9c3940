import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { SipGate } from '../../src/app/sip-gate';
import { buildAuthorization, parseDigest } from '../../src/domain/digest';
import { isEmergencyNumber } from '../../src/domain/dialplan';
import { unavailable } from '../../src/domain/errors';
import type { Logger } from '../../src/ports/logger';

const account = { username: 'pgabc', password: 's3cret', mac: '001565aabbcc', tenantId: 1 };

function gate(opts: { down?: boolean; hang?: boolean; log?: Logger } = {}) {
  const clock = {
    t: 1_000_000,
    now() {
      return this.t;
    },
  };
  const g = new SipGate({
    realm: 'papgate',
    emergencyNumbers: ['112', '911'],
    nonceTtlMs: 60_000,
    clock,
    emergencyLookupMs: 50,
    log: opts.log,
    random: { bytes: (n) => randomBytes(n) },
    lookupAccount: async (u) => {
      if (opts.down) throw unavailable('store down');
      if (opts.hang) return new Promise<never>(() => undefined); // a store that never answers
      return u === account.username ? account : null;
    },
  });
  return { g, clock };
}

function authFor(nonce: string, o: { password?: string; nc?: number; method?: string; username?: string } = {}) {
  return buildAuthorization({
    username: o.username ?? account.username,
    password: o.password ?? account.password,
    realm: 'papgate',
    nonce,
    uri: 'sip:*89@papgate',
    method: o.method ?? 'INVITE',
    cnonce: 'abc',
    nc: o.nc ?? 1,
  });
}

const nonceOf = (header: string | string[]) => /nonce="([^"]+)"/.exec(String(header))![1]!;

describe('SipGate: digest authentication and the emergency rule', () => {
  it('challenges, then accepts the right response', async () => {
    const { g } = gate();
    const c = await g.admit({ method: 'INVITE', dialled: '*89', authorization: undefined });
    assert.equal(c.kind, 'challenge');
    const nonce = nonceOf((c as { wwwAuthenticate: string[] }).wwwAuthenticate);
    const a = await g.admit({ method: 'INVITE', dialled: '*89', authorization: authFor(nonce) });
    assert.deepEqual(a, { kind: 'accept', account, emergency: false });
  });

  it('refuses a wrong password, an unknown user and a nonce we did not issue', async () => {
    const { g } = gate();
    const nonce = nonceOf(g.challenge(false).wwwAuthenticate);
    assert.equal((await g.admit({ method: 'INVITE', dialled: '1', authorization: authFor(nonce, { password: 'nope' }) })).kind, 'reject');
    assert.equal((await g.admit({ method: 'INVITE', dialled: '1', authorization: authFor(nonce, { username: 'who' }) })).kind, 'reject');
    assert.equal((await g.admit({ method: 'INVITE', dialled: '1', authorization: authFor('Zm9yZ2Vk') })).kind, 'challenge');
    const forged = nonce.slice(0, -2) + (nonce.endsWith('AA') ? 'BB' : 'AA');
    assert.equal((await g.admit({ method: 'INVITE', dialled: '1', authorization: authFor(forged) })).kind, 'challenge');
  });

  it('refuses a replayed nonce count and accepts a higher one', async () => {
    const { g } = gate();
    const nonce = nonceOf(g.challenge(false).wwwAuthenticate);
    assert.equal((await g.admit({ method: 'REGISTER', dialled: '', authorization: authFor(nonce, { method: 'REGISTER' }) })).kind, 'accept');
    const replay = await g.admit({ method: 'REGISTER', dialled: '', authorization: authFor(nonce, { method: 'REGISTER' }) });
    assert.equal(replay.kind, 'challenge');
    assert.equal((await g.admit({ method: 'REGISTER', dialled: '', authorization: authFor(nonce, { method: 'REGISTER', nc: 2 }) })).kind, 'accept');
  });

  it('still refuses a replay after many other nonces came and went, and forgets nonces past their TTL', async () => {
    const { g, clock } = gate();
    const register = (nonce: string, nc: number) => g.admit({ method: 'REGISTER', dialled: '', authorization: authFor(nonce, { method: 'REGISTER', nc }) });
    const old = nonceOf(g.challenge(false).wwwAuthenticate);
    assert.equal((await register(old, 1)).kind, 'accept');
    clock.t += 30_000;
    const kept = nonceOf(g.challenge(false).wwwAuthenticate);
    assert.equal((await register(kept, 1)).kind, 'accept');
    for (let i = 0; i < 20_000; i++) assert.equal((await register(nonceOf(g.challenge(false).wwwAuthenticate), 1)).kind, 'accept');
    assert.equal((await register(old, 2)).kind, 'accept', 'a later use moves the nonce to the back');
    clock.t += 40_000; // 70 s after the first use of `old`, 40 s after its second
    assert.equal((await register(kept, 1)).kind, 'challenge', 'a replay of a nonce still remembered');
    assert.equal((await register(old, 2)).kind, 'challenge', 'a replay of the moved nonce');
    assert.equal((await register(old, 3)).kind, 'challenge', 'and past its TTL the nonce itself is stale');
    clock.t += 25_000; // past the TTL of every use so far
    assert.equal((await register(nonceOf(g.challenge(false).wwwAuthenticate), 1)).kind, 'accept');
    const seen = (g as unknown as { seen: Map<string, unknown> }).seen;
    assert.equal(seen.size, 1, 'the expired entries are dropped');
  });

  it('answers an expired nonce with a stale challenge', async () => {
    const { g, clock } = gate();
    const nonce = nonceOf(g.challenge(false).wwwAuthenticate);
    clock.t += 60_001;
    const r = await g.admit({ method: 'INVITE', dialled: '1', authorization: authFor(nonce) });
    assert.equal(r.kind, 'challenge');
    assert.match(String((r as { wwwAuthenticate: string[] }).wwwAuthenticate), /stale=true/);
  });

  it('emergency fails open when the store is down; everything else fails closed', async () => {
    const { g } = gate({ down: true });
    assert.deepEqual(await g.admit({ method: 'INVITE', dialled: '112', authorization: undefined }), { kind: 'accept', account: null, emergency: true });
    const nonce = nonceOf(g.challenge(false).wwwAuthenticate);
    assert.deepEqual(await g.admit({ method: 'INVITE', dialled: '911', authorization: authFor(nonce) }), { kind: 'accept', account: null, emergency: true });
    assert.deepEqual(await g.admit({ method: 'INVITE', dialled: '*89', authorization: authFor(nonce) }), {
      kind: 'reject',
      status: 503,
      reason: 'Service Unavailable',
    });
    assert.equal((await g.admit({ method: 'INVITE', dialled: '*89', authorization: undefined })).kind, 'challenge');
  });

  it('reports a store that cannot answer, without the credentials', async () => {
    const warnings: string[] = [];
    const log: Logger = {
      debug() {},
      info() {},
      error() {},
      warn(obj: object | string, msg?: string) {
        warnings.push(`${msg} ${JSON.stringify(obj)}`);
      },
      child() {
        return log;
      },
    };
    const { g } = gate({ down: true, log });
    const nonce = nonceOf(g.challenge(false).wwwAuthenticate);
    assert.equal((await g.admit({ method: 'REGISTER', dialled: '', authorization: authFor(nonce, { method: 'REGISTER' }) })).kind, 'reject');
    assert.equal((await g.admit({ method: 'INVITE', dialled: '112', authorization: undefined })).kind, 'accept');
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /device lookup failed: answering 503/);
    assert.match(warnings[1]!, /emergency call let through unproven/);
    for (const w of warnings) assert.ok(!w.includes(account.password) && !w.includes(nonce), w);
  });

  it('challenges an emergency call with forged or stale credentials while the store answers', async () => {
    const { g, clock } = gate();
    const nonce = nonceOf(g.challenge(false).wwwAuthenticate);
    const kinds = async (authorization: string) => (await g.admit({ method: 'INVITE', dialled: '112', authorization })).kind;
    assert.equal(await kinds(authFor(nonce, { password: 'wrong' })), 'challenge', 'wrong response');
    assert.equal(await kinds(authFor(nonce, { username: 'unknown-user' })), 'challenge', 'unknown user');
    assert.equal(await kinds(authFor('Zm9yZ2Vk')), 'challenge', 'a nonce we did not issue');
    assert.equal(await kinds('Digest username="x", realm="papgate", nonce="nonsense", uri="sip:112@p", response="00"'), 'challenge');
    assert.equal(await kinds(authFor(nonce)), 'accept', 'the good response is accepted once');
    assert.equal(await kinds(authFor(nonce)), 'challenge', 'and not replayed');
    clock.t += 120_000;
    const stale = await g.admit({ method: 'INVITE', dialled: '911', authorization: authFor(nonce, { nc: 5 }) });
    assert.equal(stale.kind, 'challenge');
    assert.match(String((stale as { wwwAuthenticate: string[] }).wwwAuthenticate), /stale=true/);
    // A good response identifies the device.
    const fresh = nonceOf(g.challenge(false).wwwAuthenticate);
    assert.deepEqual(await g.admit({ method: 'INVITE', dialled: '112', authorization: authFor(fresh) }), { kind: 'accept', account, emergency: true });
    // Anything else is refused as before.
    assert.equal((await g.admit({ method: 'INVITE', dialled: '*89', authorization: authFor(fresh, { password: 'stale', nc: 2 }) })).kind, 'reject');
  });

  it('lets an unproven emergency call through when the store does not answer in time', async () => {
    const { g } = gate({ hang: true });
    const nonce = nonceOf(g.challenge(false).wwwAuthenticate);
    const through = { kind: 'accept', account: null, emergency: true };
    assert.deepEqual(await g.admit({ method: 'INVITE', dialled: '112', authorization: undefined }), through);
    assert.deepEqual(await g.admit({ method: 'INVITE', dialled: '112', authorization: authFor(nonce, { password: 'x' }) }), through);
  });

  it('challenges emergency calls when the store works (the phone has its credentials)', async () => {
    const { g } = gate();
    assert.equal((await g.admit({ method: 'INVITE', dialled: '112', authorization: undefined })).kind, 'challenge');
  });

  it('parses digest headers defensively', () => {
    assert.equal(parseDigest(undefined), null);
    assert.equal(parseDigest('Basic abc'), null);
    assert.equal(parseDigest('Digest username="a"'), null);
    assert.equal(parseDigest('Digest ' + 'x'.repeat(5000)), null);
    const d = parseDigest('Digest username="a\\"b", realm="r", nonce="n", uri="sip:x", response="abc", qop=auth, nc=00000001, cnonce="c"');
    assert.equal(d?.username, 'a"b');
    assert.equal(d?.nc, '00000001');
  });

  it('classifies emergency numbers after stripping separators', () => {
    assert.equal(isEmergencyNumber('112', ['112']), true);
    assert.equal(isEmergencyNumber('sip:112@papgate;user=phone', ['112']), true);
    assert.equal(isEmergencyNumber('1-1-2', ['112']), true);
    assert.equal(isEmergencyNumber('1120', ['112']), false);
    assert.equal(isEmergencyNumber('+112', ['112']), true);
    assert.equal(isEmergencyNumber('112%23', ['112']), true);
    assert.equal(isEmergencyNumber('112#', ['112']), true);
    assert.equal(isEmergencyNumber('+49112', ['112']), false);
    assert.equal(isEmergencyNumber('*89', ['112']), false);
    assert.equal(isEmergencyNumber('%E0%A4%A', ['112']), false);
  });
});
