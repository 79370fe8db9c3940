import { strict as assert } from 'node:assert';
import type { FullConfig, MinimalConfig } from '../../src/app/provisioning';
import type { Line, Vendor } from '../../src/domain/types';
import { VENDORS } from '../../src/domain/types';
import { renderCommonFile, renderDeviceFile, TEMPLATES } from '../../src/provisioning/templates';
import { cfgValue, splitHostPort, xml } from '../../src/provisioning/templates/escape';
import { makeDevice } from '../helpers/store-fixtures';

const MAC = '001565aabbcc';
const SECRET = 'NewSecret_abcdefghijklmnopqrstuv';
const LINES: Line[] = [
  { server: 'sip.example.net:5062', user: '4711', authName: 'auth4711', password: 'LinePw-One-9f3', displayName: 'Reception' },
  { server: 'sip.example.net', user: '4712', authName: '', password: 'LinePw-Two-7c1', displayName: 'Back office' },
];
const XML_VENDORS: Vendor[] = ['snom', 'poly', 'cisco', 'linksys', 'gigaset'];
const LABELS = ['Authentication needed', 'Authentication failed', 'Authentication blocked'];

function minimal(vendor: Vendor, over: Partial<MinimalConfig> = {}): MinimalConfig {
  const device = makeDevice({ mac: MAC, vendor, lines: LINES, sipUsername: 'pg-dev-77', sipPassword: 'SipPw-minimal-55' });
  return {
    kind: 'minimal',
    device,
    state: 'needed',
    label: 'Authentication needed',
    sip: { server: 'papgate.example.org', port: 5070, transport: 'udp', username: 'pg-dev-77', password: 'SipPw-minimal-55' },
    emergencyNumbers: ['112', '110', '911', '999'],
    hotline: '*89',
    resyncSeconds: 300,
    provisioningUrl: 'https://prov.example.org/',
    ...over,
  };
}

function full(vendor: Vendor, lines: Line[] = LINES): FullConfig {
  const device = makeDevice({ mac: MAC, vendor, lines });
  return {
    kind: 'full',
    device,
    reason: 'trusted',
    lines,
    resyncSeconds: 14400,
    provisioningUrl: `https://prov.example.org/p/${SECRET}/`,
  };
}

/** Every `&` starts an entity and no raw `<` sits inside a value: the markup is still what we wrote. */
function assertXmlSafe(body: string, vendor: Vendor): void {
  assert.doesNotMatch(body, /&(?!(amp|lt|gt|quot|apos|#x[0-9a-f]+|#\d+);)/, `${vendor}: bare &`);
  assert.ok(!body.includes('<x>'), `${vendor}: raw <x> in the file`);
}

describe('provisioning templates', () => {
  it('has a template for every vendor', () => {
    for (const v of VENDORS) assert.ok(TEMPLATES[v], v);
  });

  for (const vendor of VENDORS) {
    describe(vendor, () => {
      it("minimal carries the label and papgate's SIP account, and no line of the device", () => {
        const body = TEMPLATES[vendor].minimal(minimal(vendor));
        for (const s of ['Authentication needed', 'pg-dev-77', 'SipPw-minimal-55', 'papgate.example.org', '5070']) {
          assert.ok(body.includes(s) || (body.includes(`0x${(5070).toString(16)}`) && s === '5070'), `${vendor} minimal lacks ${s}`);
        }
        for (const l of LINES) {
          assert.ok(!body.includes(l.password), `${vendor} minimal leaks a line password`);
          assert.ok(!body.includes(l.user), `${vendor} minimal carries a line user`);
        }
        assert.ok(body.includes('https://prov.example.org/'), `${vendor} minimal lacks the provisioning URL`);
        assert.ok(!body.includes('/p/'), `${vendor} minimal points at a per-device URL`);
      });

      it('minimal shows the label of the state it is given', () => {
        const body = TEMPLATES[vendor].minimal(minimal(vendor, { state: 'blocked', label: 'Authentication blocked' }));
        assert.ok(body.includes('Authentication blocked'), vendor);
        assert.ok(!body.includes('Authentication needed'), vendor);
      });

      it('full carries the lines and the per-device URL, and no label', () => {
        const body = TEMPLATES[vendor].full(full(vendor));
        for (const l of LINES) {
          for (const s of [l.user, l.password, 'sip.example.net']) assert.ok(body.includes(s), `${vendor} full lacks ${s}`);
        }
        assert.ok(body.includes(`https://prov.example.org/p/${SECRET}/`), `${vendor} full lacks the per-device URL`);
        for (const label of LABELS) assert.ok(!body.includes(label), `${vendor} full shows "${label}"`);
        assert.ok(!body.includes('SipPw-minimal-55') && !body.includes('pg-dev-77'), `${vendor} full keeps papgate's account`);
      });

      it('full with no lines is still a file, without any account', () => {
        const body = TEMPLATES[vendor].full(full(vendor, []));
        assert.ok(body.includes(`/p/${SECRET}/`), vendor);
        assert.ok(!body.includes('LinePw'), vendor);
      });

      it('a display name cannot break the file, a password cannot inject a setting', () => {
        const evil: Line = {
          server: 'sip.example.net',
          user: '4711',
          authName: '4711',
          displayName: '"A&B <x>" \'q\'',
          password: 'pw\nstatic.security.user_password = admin:pwn\r\n</user_pass><x>',
        };
        const body = TEMPLATES[vendor].full(full(vendor, [evil]));
        for (const line of body.split(/\r?\n/)) {
          assert.doesNotMatch(line, /^\s*static\.security/, `${vendor}: injected line`);
        }
        if (XML_VENDORS.includes(vendor)) assertXmlSafe(body, vendor);
        const label = TEMPLATES[vendor].minimal(minimal(vendor, { label: 'A&B <x>\nsetting = 1' }));
        for (const line of label.split(/\r?\n/)) assert.doesNotMatch(line, /^setting = 1/, vendor);
        if (XML_VENDORS.includes(vendor)) assertXmlSafe(label, vendor);
      });
    });
  }

  it('Yealink: hot-line with a delay, emergency numbers, resync in minutes, and full undoes the hot-line', () => {
    const m = TEMPLATES.yealink.minimal(minimal('yealink'));
    assert.match(m, /^#!version:1\.0\.0\.1\n/);
    assert.match(m, /^features\.hotline_number = \*89$/m);
    assert.match(m, /^features\.hotline_delay = [1-9]$/m);
    assert.match(m, /^phone_setting\.emergency\.number = 112,110,911,999$/m);
    assert.match(m, /^static\.auto_provision\.repeat\.minutes = 5$/m);
    assert.match(m, /^account\.2\.enable = 0$/m);
    const f = TEMPLATES.yealink.full(full('yealink'));
    assert.match(f, /^features\.hotline_number = $/m);
    assert.match(f, /^account\.1\.sip_server\.1\.port = 5062$/m);
    assert.match(f, /^account\.2\.sip_server\.1\.port = 5060$/m);
    assert.match(f, /^static\.auto_provision\.server\.url = https:\/\/prov\.example\.org\/p\/NewSecret_\w+\/$/m);
  });

  it('snom: setting_server names the device file with the upper-case MAC', () => {
    const f = TEMPLATES.snom.full(full('snom'));
    assert.ok(f.includes(`<setting_server perm="">https://prov.example.org/p/${SECRET}/001565AABBCC.xml</setting_server>`));
    const m = TEMPLATES.snom.minimal(minimal('snom', { sip: { ...minimal('snom').sip, transport: 'tcp' } }));
    assert.ok(m.includes('papgate.example.org:5070;transport=tcp'));
  });

  it('Cisco SPA: warm line to the hot-line, emergency numbers at once, `$` kept literal in Profile_Rule', () => {
    const m = TEMPLATES.cisco.minimal(minimal('cisco', { provisioningUrl: 'https://prov.example.org/$x/' }));
    assert.ok(m.includes('<Dial_Plan_1_>(P4 &lt;:*89&gt; | 112S0 | 110S0 | 911S0 | 999S0 | [x*].)</Dial_Plan_1_>'), m);
    assert.ok(m.includes(`<Profile_Rule>https://prov.example.org/$$x/${MAC}.xml</Profile_Rule>`));
    const f = TEMPLATES.cisco.full(full('cisco'));
    assert.ok(f.includes('<Use_Auth_ID_1_>Yes</Use_Auth_ID_1_>') && f.includes('<Auth_ID_1_>auth4711</Auth_ID_1_>'));
    assert.ok(f.includes('<Use_Auth_ID_2_>No</Use_Auth_ID_2_>'));
    assert.ok(!f.includes('*89'));
  });

  it("Gigaset: a quote in a value cannot close Gigaset's quoted string", () => {
    const body = TEMPLATES.gigaset.full(full('gigaset', [{ ...LINES[0]!, displayName: 'He said "hi"' }]));
    assert.ok(body.includes(`value='"He said &apos;hi&apos;"'`), body);
    assert.ok(body.includes('<MAC_ADDRESS value="001565AABBCC"/>'));
  });

  it('Panasonic: fixed first line, CRLF, quotes in values replaced', () => {
    const body = TEMPLATES.panasonic.full(full('panasonic', [{ ...LINES[0]!, displayName: 'a"b' }]));
    assert.ok(body.startsWith('# Panasonic SIP Phone Standard Format File # DO NOT CHANGE THIS LINE!\r\n'));
    assert.ok(body.includes('DISPLAY_NAME_1="a\'b"\r\n'));
    assert.ok(body.includes(`CFG_STANDARD_FILE_PATH="https://prov.example.org/p/${SECRET}/Config001565AABBCC.cfg"`));
  });

  it('Patton: a value with blanks is one quoted word', () => {
    const body = TEMPLATES.patton.full(full('patton', [{ ...LINES[0]!, password: 'two words "x"' }]));
    assert.ok(body.includes(`password "two words 'x'"`), body);
  });

  it('Poly: <mac>.cfg is the master configuration naming <mac>-phone.cfg', () => {
    const master = renderDeviceFile('mac.cfg', minimal('poly'));
    assert.ok(master.body.includes(`CONFIG_FILES="${MAC}-phone.cfg"`));
    assert.ok(!master.body.includes('SipPw-minimal-55'));
    const phone = renderDeviceFile('mac-phone.cfg', minimal('poly'));
    assert.ok(phone.body.includes('reg.1.auth.password="SipPw-minimal-55"'));
    assert.ok(phone.body.includes('call.autoOffHook.1.enabled="0"'), 'no immediate hot-line: emergency numbers stay diallable');
  });

  it('renders a Yealink `<mac>.cfg` as the device configuration, not a master', () => {
    assert.ok(renderDeviceFile('mac.cfg', minimal('yealink')).body.includes('account.1.password = SipPw-minimal-55'));
  });

  it('common files carry no device data', () => {
    assert.equal(renderCommonFile('yealink-model.cfg').body.split('\n')[0], '#!version:1.0.0.1');
    assert.ok(renderCommonFile('poly-master.cfg').body.includes('CONFIG_FILES="[PHONE_MAC_ADDRESS]-phone.cfg"'));
    assert.ok(renderCommonFile('spa-model.cfg').body.includes('<Profile_Rule>$SCHEME://$SERV:$PORT/$MA.xml</Profile_Rule>'));
  });

  it('escape helpers', () => {
    assert.equal(xml('A&B <x> "q" \'s\' é\n'), 'A&amp;B &lt;x&gt; &quot;q&quot; &apos;s&apos; &#xe9;');
    assert.equal(cfgValue('a\nb\u2028c\u0000'), 'a b c');
    assert.deepEqual(splitHostPort('sip.example.net:5062'), { host: 'sip.example.net', port: 5062 });
    assert.deepEqual(splitHostPort('[2001:db8::1]:5060'), { host: '2001:db8::1', port: 5060 });
    assert.deepEqual(splitHostPort('2001:db8::1'), { host: '2001:db8::1', port: null });
    assert.deepEqual(splitHostPort('host:99999'), { host: 'host', port: null });
  });

  it('escape helpers: plain values pass unchanged, anything else takes the careful path', () => {
    for (const plain of ['', 'sip.example.net', 'Desk 12', 'a', '*89', 'user@host:5060;x=y', '~!#$%()*+,-./:;=?@[]^_`{|}']) {
      assert.equal(xml(plain), plain);
      assert.equal(cfgValue(plain), plain);
    }
    assert.equal(xml(' Desk '), 'Desk');
    assert.equal(cfgValue(' Desk\t'), 'Desk');
    assert.equal(xml('a&b'), 'a&amp;b');
    assert.equal(xml('x>'), 'x&gt;');
    assert.equal(xml('<'), '&lt;');
    assert.equal(xml("it's"), 'it&apos;s');
    assert.equal(xml('say "hi"'), 'say &quot;hi&quot;');
    assert.equal(xml('del\u007f'), 'del');
    assert.equal(xml('Müller 😀'), 'M&#xfc;ller &#x1f600;');
    assert.equal(cfgValue('Müller'), 'Müller');
    assert.equal(cfgValue('a\u00a0'), 'a', 'non-ASCII blanks are trimmed as before');
    assert.equal(cfgValue(5060), '5060');
  });
});
