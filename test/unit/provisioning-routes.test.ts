import { strict as assert } from 'node:assert';
import { maskTarget, MAX_URL_LENGTH, routeRequest, type Route } from '../../src/provisioning/routes';

const MAC = '001565aabbcc';
const SECRET = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345';

function device(target: string): Extract<Route, { kind: 'device' }> {
  const r = routeRequest(target);
  assert.equal(r.kind, 'device', `${target} → ${JSON.stringify(r)}`);
  return r as Extract<Route, { kind: 'device' }>;
}

function rejected(target: string): Extract<Route, { kind: 'reject' }> {
  const r = routeRequest(target);
  assert.equal(r.kind, 'reject', `${target} → ${JSON.stringify(r)}`);
  return r as Extract<Route, { kind: 'reject' }>;
}

describe('provisioning routes', () => {
  it('maps every vendor file name to its MAC, vendors and file kind', () => {
    const cases: [string, string, string[]][] = [
      [`/${MAC}.cfg`, 'mac.cfg', ['yealink', 'poly', 'patton']],
      [`/${MAC}-phone.cfg`, 'mac-phone.cfg', ['poly']],
      [`/${MAC.toUpperCase()}.xml`, 'mac.xml', ['snom', 'gigaset', 'cisco', 'linksys']],
      [`/snom370-${MAC.toUpperCase()}.htm`, 'snom-model-mac.htm', ['snom']],
      [`/snomD785-${MAC.toUpperCase()}.htm`, 'snom-model-mac.htm', ['snom']],
      [`/Config${MAC.toUpperCase()}.cfg`, 'ConfigMAC.cfg', ['panasonic']],
    ];
    for (const [target, file, vendors] of cases) {
      const r = device(target);
      assert.equal(r.mac, MAC, target);
      assert.equal(r.file, file, target);
      assert.deepEqual([...r.vendors], vendors, target);
      assert.equal(r.secret, null, target);
    }
  });

  it('takes the secret from the per-device URL /p/<secret>/<file>', () => {
    const r = device(`/p/${SECRET}/${MAC}.cfg`);
    assert.equal(r.secret, SECRET);
    assert.equal(r.mac, MAC);
    assert.equal(device(`/p/${SECRET}//${MAC}-phone.cfg`).secret, SECRET, 'a doubled slash is tolerated');
  });

  it('ignores a well-formed query', () => {
    assert.equal(device(`/${MAC}.cfg?model=T46U&fw=1.2`).mac, MAC);
  });

  it('serves the vendor-wide files without a MAC', () => {
    assert.deepEqual(routeRequest('/y000000000028.cfg'), { kind: 'common', vendors: ['yealink'], file: 'yealink-model.cfg' });
    assert.deepEqual(routeRequest('/000000000000.cfg'), { kind: 'common', vendors: ['poly'], file: 'poly-master.cfg' });
    assert.deepEqual(routeRequest('/spa112.cfg'), { kind: 'common', vendors: ['cisco', 'linksys'], file: 'spa-model.cfg' });
    assert.equal(routeRequest(`/p/${SECRET}/y000000000108.cfg`).kind, 'common');
  });

  it('refuses traversal, encodings, backslashes and NUL with 400', () => {
    for (const t of [
      '/../etc/passwd',
      `/p/../${MAC}.cfg`,
      `/./${MAC}.cfg`,
      '/%2e%2e/%2e%2e/etc/passwd',
      `/${MAC}%2ecfg`,
      '/..%2f..%2fetc%2fpasswd',
      '/..\\..\\windows\\win.ini',
      `/${MAC}.cfg%00.txt`,
      `/${MAC}.cfg\u0000`,
      `/${MAC}.cfg `,
      'relative.cfg',
      '',
    ]) {
      assert.equal(rejected(t).status, 400, JSON.stringify(t));
    }
  });

  it('refuses a request target over the limit with 414', () => {
    assert.equal(rejected(`/${'a'.repeat(MAX_URL_LENGTH)}`).status, 414);
    assert.equal(rejected(`/${MAC}.cfg?${'x'.repeat(MAX_URL_LENGTH)}`).status, 414);
  });

  it('refuses a malformed query with 400', () => {
    assert.equal(rejected(`/${MAC}.cfg?a=%zz`).status, 400);
    assert.equal(rejected(`/${MAC}.cfg?a=<script>`).status, 400);
    assert.equal(rejected(`/${MAC}.cfg?a="b"`).status, 400);
  });

  it('answers zero, broadcast and multicast MACs like unknown ones: 404', () => {
    assert.equal(rejected('/ffffffffffff.cfg').status, 404);
    assert.equal(rejected('/010000000001.xml').status, 404);
    assert.equal(rejected('/000000000000.xml').status, 404);
  });

  it('answers 404 for names that are no vendor file', () => {
    for (const t of [
      '/',
      '/index.html',
      `/${MAC}.txt`,
      `/${MAC}1.cfg`,
      `/${MAC.slice(1)}.cfg`,
      `/x/${MAC}.cfg`,
      `/p/${SECRET}`,
      `/p/${SECRET}/x/${MAC}.cfg`,
      `/q/${SECRET}/${MAC}.cfg`,
      '/snom-001565aabbcc.htm',
      '/00:15:65:aa:bb:cc.cfg',
    ]) {
      assert.equal(rejected(t).status, t === '/00:15:65:aa:bb:cc.cfg' ? 400 : 404, t);
    }
  });

  it('masks the secret and drops the query in logged targets', () => {
    assert.equal(maskTarget(`/p/${SECRET}/${MAC}.cfg`), `/p/***/${MAC}.cfg`);
    assert.equal(maskTarget(`//p//${SECRET}/${MAC}.cfg`), `//p//***/${MAC}.cfg`);
    assert.equal(maskTarget(`/x/${SECRET}/${MAC}.cfg?token=abc`), `/x/***/${MAC}.cfg?…`);
    assert.equal(maskTarget(`/${MAC}.cfg`), `/${MAC}.cfg`);
    assert.ok(!maskTarget(`/p/short/${MAC}.cfg`).includes('short'));
  });
});
