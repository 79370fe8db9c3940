import { strict as assert } from 'node:assert';
import { mediaOnThread, mediaThreadNice } from '../../src/compose-calls';
import { ConfigError, loadConfig, SETTINGS } from '../../src/config/config';

describe('configuration from the environment', () => {
  it("runs out of the box with the spec's numbers", () => {
    const c = loadConfig({});
    assert.equal(c.maxFailures, 3);
    assert.equal(c.lockoutSeconds, 1800);
    assert.equal(c.maxLockouts, 3);
    assert.equal(c.suspendSeconds, 1800);
    assert.equal(c.trustSeconds, 28800);
    assert.equal(c.provisioningPort, 8080);
    assert.equal(c.adminPort, 8081);
    assert.equal(c.sipPort, 5060);
    assert.deepEqual(c.emergencyNumbers, ['112', '110', '911', '999']);
    assert.equal(c.signalling, 'embedded');
    assert.equal(c.media, 'embedded');
    assert.ok(Object.isFrozen(c));
  });

  it('takes every documented variable, and flags over the environment', () => {
    const c = loadConfig(
      { PAPGATE_MAX_FAILURES: '5', PAPGATE_PUBLIC_URL: 'https://prov.example.net/', PAPGATE_TRUSTED_PROXIES: '10.0.0.1, 192.0.2.0/24', PAPGATE_DB: '/env.db' },
      { PAPGATE_DB: '/flag.db' },
    );
    assert.equal(c.maxFailures, 5);
    assert.equal(c.publicUrl, 'https://prov.example.net');
    assert.deepEqual(c.trustedProxies, ['10.0.0.1', '192.0.2.0/24']);
    assert.equal(c.db, '/flag.db');
  });

  it('the NOTIFY timeout is one setting for both SIP stacks, seconds, bounded', () => {
    assert.equal(loadConfig({}).sipNotifyTimeoutSeconds, 8);
    assert.equal(loadConfig({ PAPGATE_SIP_NOTIFY_TIMEOUT_SECONDS: '2.5' }).sipNotifyTimeoutSeconds, 2.5);
    for (const bad of ['0', '65', 'soon']) {
      assert.throws(() => loadConfig({ PAPGATE_SIP_NOTIFY_TIMEOUT_SECONDS: bad }), /PAPGATE_SIP_NOTIFY_TIMEOUT_SECONDS/, bad);
    }
  });

  it('the media thread: auto takes it on two cores or more; its nice value is bounded, keep leaves it', () => {
    const auto = loadConfig({});
    assert.equal(auto.mediaThread, 'auto');
    assert.equal(mediaOnThread(auto, 1), false);
    assert.equal(mediaOnThread(auto, 2), true);
    assert.equal(mediaOnThread(loadConfig({ PAPGATE_MEDIA_THREAD: 'off' }), 8), false);
    assert.equal(mediaOnThread(loadConfig({ PAPGATE_MEDIA_THREAD: 'on' }), 1), true);
    assert.equal(auto.mediaNice, -10);
    assert.equal(loadConfig({ PAPGATE_MEDIA_NICE: 'keep' }).mediaNice, 'keep');
    assert.equal(loadConfig({ PAPGATE_MEDIA_NICE: '5' }).mediaNice, 5);
    assert.equal(mediaThreadNice(auto), -10);
    assert.equal(mediaThreadNice(loadConfig({ PAPGATE_MEDIA_NICE: 'keep' })), undefined);
    for (const bad of ['-21', '20', 'high', '1.5']) assert.throws(() => loadConfig({ PAPGATE_MEDIA_NICE: bad }), /PAPGATE_MEDIA_NICE/, bad);
  });

  it('sends nothing between prompts unless PAPGATE_RTP_SILENCE=on', () => {
    assert.equal(loadConfig({}).rtpSilence, 'off');
    assert.equal(loadConfig({ PAPGATE_RTP_SILENCE: 'on' }).rtpSilence, 'on');
    assert.throws(() => loadConfig({ PAPGATE_RTP_SILENCE: 'yes' }), /PAPGATE_RTP_SILENCE/);
  });

  it('stops with a message naming each bad variable', () => {
    const bad = {
      PAPGATE_MAX_FAILURES: 'three',
      PAPGATE_LOCKOUT_SECONDS: '-1',
      PAPGATE_PUBLIC_URL: 'not a url',
      PAPGATE_TRUSTED_PROXIES: '10.0.0.5/24',
      PAPGATE_EMERGENCY_GATEWAY: 'http://gw',
      PAPGATE_SIGNALLING: 'asterisk',
      PAPGATE_ADMIN_TOKEN: 'short',
      PAPGATE_PROVISIONING_PORT: '70000',
    };
    assert.throws(
      () => loadConfig(bad),
      (e: Error) => {
        assert.ok(e instanceof ConfigError);
        for (const name of Object.keys(bad)) assert.match(e.message, new RegExp(name), name);
        assert.doesNotMatch(e.message, /short/, 'a rejected token is not echoed');
        return true;
      },
    );
    assert.throws(() => loadConfig({ PAPGATE_RTP_PORT_MIN: '30000', PAPGATE_RTP_PORT_MAX: '20000' }), /PAPGATE_RTP_PORT_MIN must be below/); // not bound
  });

  it('takes a certificate only with its key, for either port', () => {
    assert.throws(() => loadConfig({ PAPGATE_TLS_CERT: '/c.pem' }), /PAPGATE_TLS_CERT and PAPGATE_TLS_KEY must be set together/);
    assert.throws(() => loadConfig({ PAPGATE_ADMIN_TLS_KEY: '/k.pem' }), /PAPGATE_ADMIN_TLS_CERT and PAPGATE_ADMIN_TLS_KEY/);
    const c = loadConfig({ PAPGATE_TLS_CERT: '/c.pem', PAPGATE_TLS_KEY: '/k.pem' });
    assert.equal(c.tlsCert, '/c.pem');
    assert.equal(c.adminTlsCert, undefined);
    assert.equal(loadConfig({}).tlsCert, undefined, 'plain HTTP by default');
  });

  it('documents every variable in the README', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(require.resolve('../../README.md'), 'utf8');
    for (const name of Object.keys(SETTINGS)) {
      assert.ok(readme.includes(`\`${name}\``), `${name} is not in the README's configuration table`);
    }
  });
});
