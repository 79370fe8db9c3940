import { strict as assert } from 'node:assert';
import { sipTlsFiles } from '../../src/compose-calls';
import { ConfigError, loadConfig } from '../../src/config/config';

describe('configuration: SIP over TLS', () => {
  it('is off by default', () => {
    const c = loadConfig({});
    assert.equal(c.sipTlsPort, undefined);
    assert.equal(sipTlsFiles(c), undefined);
  });

  it('uses the provisioning certificate unless it has its own', () => {
    const shared = loadConfig({ PAPGATE_SIP_TLS_PORT: '5061', PAPGATE_TLS_CERT: '/etc/p/prov.crt', PAPGATE_TLS_KEY: '/etc/p/prov.key' }); // not bound
    assert.deepEqual(sipTlsFiles(shared), { certPath: '/etc/p/prov.crt', keyPath: '/etc/p/prov.key' });
    const own = loadConfig({
      PAPGATE_SIP_TLS_PORT: '5061',
      PAPGATE_TLS_CERT: '/etc/p/prov.crt',
      PAPGATE_TLS_KEY: '/etc/p/prov.key', // not bound
      PAPGATE_SIP_TLS_CERT: '/etc/p/sip.crt',
      PAPGATE_SIP_TLS_KEY: '/etc/p/sip.key',
    });
    assert.deepEqual(sipTlsFiles(own), { certPath: '/etc/p/sip.crt', keyPath: '/etc/p/sip.key' });
  });

  it('refuses a TLS port without any certificate, half a pair, and the drachtio stack', () => {
    assert.throws(
      () => loadConfig({ PAPGATE_SIP_TLS_PORT: '5061' }),
      (e: Error) => e instanceof ConfigError && /PAPGATE_SIP_TLS_PORT needs a certificate/.test(e.message),
    ); // not bound
    assert.throws(
      () => loadConfig({ PAPGATE_SIP_TLS_PORT: '5061', PAPGATE_SIP_TLS_CERT: '/x.crt' }),
      /PAPGATE_SIP_TLS_CERT and PAPGATE_SIP_TLS_KEY must be set together/,
    );
    assert.throws(
      () => loadConfig({ PAPGATE_SIP_TLS_PORT: '5061', PAPGATE_SIGNALLING: 'drachtio', PAPGATE_TLS_CERT: '/a', PAPGATE_TLS_KEY: '/b' }),
      /embedded SIP stack, not drachtio/,
    );
    assert.throws(() => loadConfig({ PAPGATE_SIP_TLS_PORT: '70000' }), /PAPGATE_SIP_TLS_PORT/);
  });

  it('with signalling off, only tells phones the port (no certificate needed here)', () => {
    assert.equal(loadConfig({ PAPGATE_SIP_TLS_PORT: '5061', PAPGATE_SIGNALLING: 'off' }).sipTlsPort, 5061);
  });
});
