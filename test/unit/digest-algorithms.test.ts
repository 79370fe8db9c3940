import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { SipGate } from '../../src/app/sip-gate';
import { loadConfig } from '../../src/config/config';
import { buildAuthorization, digestAlgorithm, expectedResponse, type DigestAlgorithm, type DigestCredentials } from '../../src/domain/digest';

/** Digest with SHA-256 beside MD5 (RFC 7616, RFC 8760): the challenge offers both, either response is checked. */

const account = { username: 'pgsha', password: 's3cret', mac: '001565aabbcc', tenantId: 1 };

function gate(digestAlgorithms?: DigestAlgorithm[]) {
  return new SipGate({
    realm: 'papgate',
    emergencyNumbers: ['112'],
    nonceTtlMs: 60_000,
    clock: { now: () => 1_000_000 },
    digestAlgorithms,
    random: { bytes: (n) => randomBytes(n) },
    lookupAccount: async (u) => (u === account.username ? account : null),
  });
}

const nonceOf = (challenge: string) => /nonce="([^"]+)"/.exec(challenge)![1]!;

describe('digest algorithms: SHA-256 and MD5', () => {
  it('computes the RFC 7616 section 3.9.1 example for both algorithms', () => {
    const c: DigestCredentials = {
      username: 'Mufasa',
      realm: 'http-auth@example.org',
      uri: '/dir/index.html',
      response: '',
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
      nc: '00000001',
      qop: 'auth',
    };
    assert.equal(expectedResponse({ ...c, algorithm: 'SHA-256' }, 'GET', 'Circle of Life'), '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
    assert.equal(expectedResponse({ ...c, algorithm: 'MD5' }, 'GET', 'Circle of Life'), '8ca523f5e9506fed4657c9700eebdbec');
    assert.equal(expectedResponse(c, 'GET', 'Circle of Life'), '8ca523f5e9506fed4657c9700eebdbec', 'no algorithm named: MD5');
  });

  it('names the algorithms it knows, in any case, and no others', () => {
    assert.equal(digestAlgorithm({ algorithm: undefined }), 'MD5');
    assert.equal(digestAlgorithm({ algorithm: 'md5' }), 'MD5');
    assert.equal(digestAlgorithm({ algorithm: 'sha-256' }), 'SHA-256');
    for (const other of ['MD5-sess', 'SHA-256-sess', 'SHA-512-256', 'SHA256', '']) assert.equal(digestAlgorithm({ algorithm: other }), null, other);
  });

  it('challenges with SHA-256 first, then MD5, on one nonce, when configured so', () => {
    const challenge = gate(['SHA-256', 'MD5']).challenge(false).wwwAuthenticate;
    assert.equal(challenge.length, 2);
    assert.match(challenge[0]!, /^Digest realm="papgate", nonce="[^"]+", algorithm=SHA-256, qop="auth"$/);
    assert.match(challenge[1]!, /^Digest realm="papgate", nonce="[^"]+", algorithm=MD5, qop="auth"$/);
    assert.equal(nonceOf(challenge[0]!), nonceOf(challenge[1]!));
  });

  it('by default offers MD5 alone (phones that fail on a second challenge); any order configured is kept', () => {
    assert.deepEqual(
      gate()
        .challenge(false)
        .wwwAuthenticate.map((c) => /algorithm=([^,]+)/.exec(c)![1]),
      ['MD5'],
    );
    const challenge = gate(['MD5', 'SHA-256']).challenge(true).wwwAuthenticate;
    assert.deepEqual(
      challenge.map((c) => /algorithm=([^,]+)/.exec(c)![1]),
      ['MD5', 'SHA-256'],
    );
    assert.ok(challenge.every((c) => c.endsWith(', stale=true')));
  });

  it('accepts only the configured algorithms: MD5 alone refuses a SHA-256 response', async () => {
    const g = gate(['MD5']);
    const challenge = g.challenge(false).wwwAuthenticate;
    assert.equal(challenge.length, 1);
    const auth = (algorithm: DigestAlgorithm, nc: number) =>
      buildAuthorization({
        username: account.username,
        password: account.password,
        realm: 'papgate',
        nonce: nonceOf(challenge[0]!),
        uri: 'sip:papgate',
        method: 'REGISTER',
        cnonce: 'c',
        nc,
        algorithm,
      });
    assert.equal((await g.admit({ method: 'REGISTER', dialled: '', authorization: auth('SHA-256', 1) })).kind, 'reject');
    assert.equal((await g.admit({ method: 'REGISTER', dialled: '', authorization: auth('MD5', 2) })).kind, 'accept');
  });

  it('accepts a SHA-256 response and an MD5 one, each only with the right password', async () => {
    const g = gate(['SHA-256', 'MD5']);
    for (const algorithm of ['SHA-256', 'MD5'] as const) {
      const nonce = nonceOf(g.challenge(false).wwwAuthenticate[0]!);
      const auth = (password: string, nc: number) =>
        buildAuthorization({
          username: account.username,
          password,
          realm: 'papgate',
          nonce,
          uri: 'sip:papgate',
          method: 'REGISTER',
          cnonce: 'c0ffee',
          nc,
          algorithm,
        });
      assert.equal((await g.admit({ method: 'REGISTER', dialled: '', authorization: auth('wrong', 1) })).kind, 'reject', algorithm);
      assert.equal((await g.admit({ method: 'REGISTER', dialled: '', authorization: auth(account.password, 2) })).kind, 'accept', algorithm);
    }
  });

  it('refuses an algorithm it did not offer, and a response computed with another algorithm than it names', async () => {
    const g = gate(['SHA-256', 'MD5']);
    const nonce = nonceOf(g.challenge(false).wwwAuthenticate[0]!);
    const sha = buildAuthorization({
      username: account.username,
      password: account.password,
      realm: 'papgate',
      nonce,
      uri: 'sip:*89@papgate',
      method: 'INVITE',
      cnonce: 'x',
      nc: 1,
      algorithm: 'SHA-256',
    });
    const renamed = (name: string) => sha.replace('algorithm=SHA-256', `algorithm=${name}`);
    for (const name of ['MD5-sess', 'SHA-512-256', 'MD5']) {
      assert.deepEqual(
        await g.admit({ method: 'INVITE', dialled: '*89', authorization: renamed(name) }),
        { kind: 'reject', status: 403, reason: 'Forbidden' },
        name,
      );
    }
    // An emergency call with such credentials is challenged again, never refused outright.
    assert.equal((await g.admit({ method: 'INVITE', dialled: '112', authorization: renamed('MD5-sess') })).kind, 'challenge');
    assert.equal((await g.admit({ method: 'INVITE', dialled: '*89', authorization: sha })).kind, 'accept');
  });
});

describe('PAPGATE_SIP_DIGEST_ALGORITHMS', () => {
  it('defaults to MD5, keeps the order given, and refuses anything else', () => {
    assert.deepEqual(loadConfig({}).sipDigestAlgorithms, ['MD5']);
    assert.deepEqual(loadConfig({ PAPGATE_SIP_DIGEST_ALGORITHMS: 'SHA-256, MD5' }).sipDigestAlgorithms, ['SHA-256', 'MD5']);
    for (const bad of ['SHA-512-256', 'MD5,MD5', 'md5', ' , ']) {
      assert.throws(() => loadConfig({ PAPGATE_SIP_DIGEST_ALGORITHMS: bad }), /PAPGATE_SIP_DIGEST_ALGORITHMS/, bad);
    }
  });
});
