import { strict as assert } from 'node:assert';
import { contactFor, viaFor } from '../../src/sip/embedded/messages';

describe('embedded SIP: our Via and Contact per transport', () => {
  const local = { host: '192.0.2.10', port: 5060, tlsPort: 5061 };

  it('over TLS: the TLS port, SIP/2.0/TLS without rport, and ;transport=tls (sips: when the dialog is sips)', () => {
    const via = viaFor(local, 'tls', 'z9hG4bKx');
    assert.deepEqual([via.protocol, via.port, 'rport' in via.params], ['TLS', 5061, false]);
    assert.equal(contactFor(local, 'tls').uri, 'sip:papgate@192.0.2.10:5061;transport=tls');
    assert.equal(contactFor(local, 'tls', 'papgate', true).uri, 'sips:papgate@192.0.2.10:5061');
  });

  it('over UDP and TCP: the plain port, as before', () => {
    assert.equal(contactFor(local, 'udp').uri, 'sip:papgate@192.0.2.10:5060');
    assert.equal(contactFor(local, 'tcp').uri, 'sip:papgate@192.0.2.10:5060;transport=tcp');
    assert.equal(contactFor(local, 'udp', 'papgate', true).uri, 'sip:papgate@192.0.2.10:5060', 'sips only over TLS');
    assert.deepEqual([viaFor(local, 'udp').port, 'rport' in viaFor(local, 'udp').params], [5060, true]);
  });
});
