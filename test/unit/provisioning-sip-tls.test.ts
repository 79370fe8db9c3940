import { strict as assert } from 'node:assert';
import type { MinimalConfig } from '../../src/app/provisioning';
import type { Vendor } from '../../src/domain/types';
import { TEMPLATES } from '../../src/provisioning/templates';
import { makeDevice } from '../helpers/store-fixtures';

/** What the minimal configuration tells each vendor's phone about papgate's SIP transport, with SIP over TLS on and off. */

function minimal(vendor: Vendor, tlsPort?: number): MinimalConfig {
  const device = makeDevice({ mac: '001565aabbcc', vendor, sipUsername: 'pg-dev-77', sipPassword: 'SipPw-minimal-55' });
  return {
    kind: 'minimal',
    device,
    state: 'needed',
    label: 'Authentication needed',
    sip: { server: 'papgate.example.org', port: 5060, transport: 'udp', tlsPort, username: 'pg-dev-77', password: 'SipPw-minimal-55' },
    emergencyNumbers: ['112'],
    hotline: '*89',
    resyncSeconds: 300,
    provisioningUrl: 'https://prov.example.org/',
  };
}

const render = (vendor: Vendor, tlsPort?: number) => TEMPLATES[vendor].minimal(minimal(vendor, tlsPort));

describe('minimal configuration: SIP transport with SIP over TLS on and off', () => {
  it('Yealink: transport 2 (TLS) on port 5061 when on; 0 (UDP) on 5060 when off', () => {
    const on = render('yealink', 5061);
    assert.match(on, /^account\.1\.sip_server\.1\.transport_type = 2$/m);
    assert.match(on, /^account\.1\.sip_server\.1\.port = 5061$/m);
    const off = render('yealink');
    assert.match(off, /^account\.1\.sip_server\.1\.transport_type = 0$/m);
    assert.match(off, /^account\.1\.sip_server\.1\.port = 5060$/m);
  });

  it('snom: registrar and outbound proxy with ;transport=tls on 5061 when on; no outbound proxy when off', () => {
    const on = render('snom', 5061);
    assert.ok(on.includes('<user_host idx="1" perm="">papgate.example.org:5061</user_host>'), on);
    assert.ok(on.includes('<user_outbound idx="1" perm="">papgate.example.org:5061;transport=tls</user_outbound>'), on);
    const off = render('snom');
    assert.ok(off.includes('<user_host idx="1" perm="">papgate.example.org:5060</user_host>'), off);
    assert.ok(off.includes('<user_outbound idx="1" perm=""></user_outbound>'), off);
  });

  it('Poly: server transport TLS on 5061 when on; UDPOnly on 5060 when off', () => {
    assert.match(render('poly', 5061), /reg\.1\.server\.1\.port="5061"[\s\S]*reg\.1\.server\.1\.transport="TLS"/);
    assert.match(render('poly'), /reg\.1\.server\.1\.port="5060"[\s\S]*reg\.1\.server\.1\.transport="UDPOnly"/);
  });

  it('Cisco SPA: SIP_Transport TLS and the proxy on 5061 when on', () => {
    const on = render('cisco', 5061);
    assert.ok(on.includes('<SIP_Transport_1_>TLS</SIP_Transport_1_>'), on);
    assert.ok(on.includes('<Proxy_1_>papgate.example.org:5061</Proxy_1_>'), on);
    assert.ok(render('cisco').includes('<SIP_Transport_1_>UDP</SIP_Transport_1_>'));
  });

  it('Panasonic: SIP_TRANSPORT 2 and both ports 5061 when on; 0 and 5060 when off', () => {
    const on = render('panasonic', 5061);
    assert.match(on, /^SIP_TRANSPORT_1="2"\r?$/m);
    assert.match(on, /^SIP_RGSTR_PORT_1="5061"\r?$/m);
    assert.match(on, /^SIP_PRXY_PORT_1="5061"\r?$/m);
    assert.match(render('panasonic'), /^SIP_TRANSPORT_1="0"\r?$/m);
  });

  it('Gigaset and Patton, whose templates cannot switch the phone to TLS, stay on the plain port', () => {
    // Gigaset writes ports in hex: 0x13c4 is 5060, 0x13c5 5061.
    assert.match(render('gigaset', 5061), /uiI_SIP_SERVER_PORT" class="symb_item" value="0x13c4"/);
    assert.ok(!render('gigaset', 5061).includes('0x13c5'));
    assert.ok(!render('patton', 5061).includes('5061'));
    assert.match(render('patton', 5061), /registrar papgate\.example\.org 5060/);
  });
});
