import { strict as assert } from 'node:assert';
import { startAdmin, type AdminHarness, type Answer, type RequestOptions } from './admin-harness';

/** Bad input is a 400 whose `field` names what was wrong; nothing is written. */
describe('admin REST API: validation', () => {
  let h: AdminHarness;
  const MAC = '02cccccccc01';

  before(async () => {
    h = await startAdmin();
    await h.req('POST', '/api/v1/tenants', { body: { name: 'acme' } });
    await h.req('POST', '/api/v1/tenants/acme/sites', { body: { name: 'hq' } });
    const d = await h.req('POST', '/api/v1/tenants/acme/devices', { body: { mac: MAC, vendor: 'yealink', model: 'T46U' } });
    assert.equal(d.status, 201, d.text);
  });
  after(async () => {
    await h.close();
  });

  function assertInvalid(r: Answer, field: string, message?: RegExp, what = ''): void {
    assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
    assert.equal(r.json.error, 'invalid', what);
    assert.equal(r.json.field, field, `${what}: ${r.text}`);
    assert.ok(typeof r.json.message === 'string' && r.json.message.length > 10, what);
    if (message) assert.match(r.json.message, message, what);
  }

  async function snapshot(): Promise<string> {
    const parts = await Promise.all(
      ['/api/v1/tenants', '/api/v1/tenants/acme/devices', '/api/v1/tenants/acme/sites', '/api/v1/tenants/acme/allow-list'].map(
        async (p) => (await h.req('GET', p)).text,
      ),
    );
    return parts.join('\n');
  }

  const BAD_MACS: [string, RegExp][] = [
    ['garbage', /12 hexadecimal digits/],
    ['02cccccccc0', /12 hexadecimal digits/],
    ['02:cc:cc:cc:cc:0g', /12 hexadecimal digits/],
    ['02:cc-cc:cc:cc:cc', /12 hexadecimal digits/],
    ['01:00:5e:00:00:01', /multicast/],
    ['0300.0000.0001', /multicast/],
    ['00:00:00:00:00:00', /all-zero/],
    ['FF-FF-FF-FF-FF-FF', /broadcast/],
  ];

  it('rejects a bad MAC in the create body, in every device path, and in an import row', async () => {
    const before = await snapshot();
    for (const [mac, why] of BAD_MACS) {
      assertInvalid(await h.req('POST', '/api/v1/tenants/acme/devices', { body: { mac, vendor: 'snom', model: 'D785' } }), 'mac', why, `body ${mac}`);
      const p = `/api/v1/devices/${encodeURIComponent(mac)}`;
      for (const [method, path, o] of [
        ['GET', p],
        ['DELETE', p],
        ['POST', `${p}/reset`],
        ['POST', `${p}/suspend`],
        ['PUT', `${p}/lines`, { body: { lines: [] } }],
      ] as [string, string, RequestOptions?][]) {
        assertInvalid(await h.req(method, path, o), 'mac', why, `${method} ${path}`);
      }
      const imp = await h.req('POST', '/api/v1/tenants/acme/import', { contentType: 'text/csv', raw: `mac,vendor,model\n${mac},snom,D785\n` });
      assertInvalid(imp, 'file', undefined, `import ${mac}`);
      assert.deepEqual(
        imp.json.errors.map((e: { line: number; field: string }) => [e.line, e.field]),
        [[2, 'mac']],
      );
      assert.match(imp.json.errors[0].message, why);
    }
    assertInvalid(await h.req('POST', '/api/v1/tenants/acme/devices', { body: { vendor: 'snom', model: 'D785' } }), 'mac', /missing/);
    assertInvalid(await h.req('POST', '/api/v1/tenants/acme/devices', { body: { mac: 0x02cccccccc09, vendor: 'snom', model: 'D785' } }), 'mac');
    assert.equal(await snapshot(), before);
  });

  it('rejects bad vendors, models and sites of a new device', async () => {
    const before = await snapshot();
    const post = (body: object) => h.req('POST', '/api/v1/tenants/acme/devices', { body: { mac: '02cccccccc02', vendor: 'snom', model: 'D785', ...body } });
    assertInvalid(await post({ vendor: 'nokia' }), 'vendor', /yealink, snom/);
    assertInvalid(await post({ vendor: '' }), 'vendor');
    assertInvalid(await post({ vendor: ['snom'] }), 'vendor');
    assertInvalid(await post({ model: '=cmd()' }), 'model');
    assertInvalid(await post({ model: 'x'.repeat(41) }), 'model');
    assertInvalid(await post({ site: 'nowhere' }), 'site', /no site named nowhere/);
    assertInvalid(await post({ colour: 'red' }), 'colour', /unknown field/);
    assert.equal(await snapshot(), before);
  });

  it('rejects bad allow-list entries with a message about CIDR', async () => {
    const before = await snapshot();
    for (const [cidr, why] of [
      ['10.0.0.5/24', /host bits.*10\.0\.0\.0\/24/],
      ['0.0.0.0/0', /every address/],
      ['::/0', /every address/],
      ['999.1.1.1', /not an IPv4 or IPv6 address/],
      ['10.0.0.0/33', /prefix length/],
      ['10.0.0.0/-1', /prefix length/],
      ['10.0.0.0/8/8', /not an IPv4/],
      ['example.com', /not an IPv4/],
      ['', /missing/],
      ['1.2.3', /not an IPv4/],
    ] as [string, RegExp][]) {
      assertInvalid(await h.req('POST', '/api/v1/tenants/acme/allow-list', { body: { cidr } }), 'cidr', why, `add ${cidr}`);
      if (cidr !== '') {
        assertInvalid(await h.req('DELETE', `/api/v1/tenants/acme/allow-list?cidr=${encodeURIComponent(cidr)}`), 'cidr', why, `remove ${cidr}`);
      }
    }
    assertInvalid(await h.req('POST', '/api/v1/tenants/acme/allow-list', { body: { cidr: 10 } }), 'cidr');
    assertInvalid(await h.req('POST', '/api/v1/tenants/acme/allow-list', { body: {} }), 'cidr');
    assertInvalid(await h.req('DELETE', '/api/v1/tenants/acme/allow-list?cidr=10.0.0.0/8&cidr=10.0.0.0/16'), 'cidr', /once/);
    assert.equal(await snapshot(), before);
  });

  it('rejects bad locales and tenant or site names', async () => {
    const before = await snapshot();
    assertInvalid(await h.req('POST', '/api/v1/tenants', { body: { name: 'initech', locale: 'fy' } }), 'locale', /en, de, fr/);
    assertInvalid(await h.req('POST', '/api/v1/tenants', { body: { name: 'initech', locale: 1 } }), 'locale');
    assertInvalid(await h.req('PATCH', '/api/v1/tenants/acme', { body: { locale: 'EN-us' } }), 'locale');
    assertInvalid(await h.req('PATCH', '/api/v1/tenants/acme', { body: {} }), 'locale');
    assertInvalid(await h.req('POST', '/api/v1/tenants/acme/sites', { body: { name: 'berlin', locale: 'xx' } }), 'locale');
    for (const bad of [['17a'], ['1234567890123456'], [''], '17', [17], Array.from({ length: 21 }, (_, i) => String(100 + i))]) {
      const field = Array.isArray(bad) && bad.length <= 20 ? 'emergencyNumbers[0]' : 'emergencyNumbers'; // an entry, or the list
      assertInvalid(await h.req('POST', '/api/v1/tenants/acme/sites', { body: { name: 'lyon', emergencyNumbers: bad } }), field);
    }
    assert.equal(
      (await h.req('GET', '/api/v1/tenants/acme/sites')).json.some((s: { name: string }) => s.name === 'lyon'),
      false,
      'nothing half-written',
    );
    assertInvalid(await h.req('POST', '/api/v1/tenants', { body: { name: '-bad' } }), 'name', /1-63 characters/);
    assertInvalid(await h.req('POST', '/api/v1/tenants', { body: { name: 'a b' } }), 'name');
    assertInvalid(await h.req('POST', '/api/v1/tenants', { body: { name: 42 } }), 'name');
    assertInvalid(await h.req('POST', '/api/v1/tenants', { body: {} }), 'name');
    assertInvalid(await h.req('POST', '/api/v1/tenants/acme/sites', { body: { name: 'x'.repeat(64) } }), 'name');
    assertInvalid(await h.req('GET', `/api/v1/tenants/${encodeURIComponent('bad name')}`), 'tenant');
    assert.equal(await snapshot(), before);
  });

  it('rejects bad lines', async () => {
    const before = await snapshot();
    const put = (body: unknown) => h.req('PUT', `/api/v1/devices/${MAC}/lines`, { body });
    const line = { server: 'sip.example.net', user: '201', password: 'pw' };
    assertInvalid(await put({ lines: 'x' }), 'lines');
    assertInvalid(await put({}), 'lines');
    assertInvalid(await put({ lines: [{ ...line, password: '' }] }), 'lines[0].password');
    assertInvalid(await put({ lines: [line, { ...line, server: undefined }] }), 'lines[1].server');
    assertInvalid(await put({ lines: [{ ...line, displayName: 'a\nb' }] }), 'lines[0].displayName');
    assertInvalid(await put({ lines: Array.from({ length: 17 }, () => line) }), 'lines', /16/);
    assert.equal(await snapshot(), before);
  });

  it('rejects bad query parameters', async () => {
    assertInvalid(await h.req('GET', '/api/v1/tenants/acme/devices?state=happy'), 'state', /needed, failed, blocked, successful/);
    for (const limit of ['0', '1001', 'abc', '-5', '1.5']) {
      assertInvalid(await h.req('GET', `/api/v1/tenants/acme/audit?limit=${limit}`), 'limit', /1 to 1000/, limit);
      assertInvalid(await h.req('GET', `/api/v1/audit?limit=${limit}`), 'limit', /1 to 1000/, limit);
    }
  });

  it('turns bad JSON, non-object bodies, wrong content types and oversized bodies into 400s naming the body', async () => {
    const before = await snapshot();
    const post = (raw: string, contentType?: string) => h.req('POST', '/api/v1/tenants/acme/devices', { raw, contentType });
    assertInvalid(await post('{"mac": "02cccccccc05",'), 'body', /not valid JSON/);
    assertInvalid(await post('{"__proto__": {"x": 1}}'), 'body');
    assertInvalid(await post('[1,2]'), 'body', /JSON object/);
    assertInvalid(await post('"text"'), 'body', /JSON object/);
    assertInvalid(await post('mac=02cccccccc05', 'application/x-www-form-urlencoded'), 'body', /Content-Type/);
    assertInvalid(
      await post(JSON.stringify({ mac: '02cccccccc05', vendor: 'snom', model: 'D785', pad: 'x'.repeat(70_000) })),
      'body',
      /larger than 65536 bytes/,
    );
    assertInvalid(await h.req('POST', '/api/v1/tenants/acme/import', { contentType: 'text/csv', raw: 'x'.repeat(7 * 1024 * 1024) }), 'body', /larger than/);
    assertInvalid(await h.req('POST', '/api/v1/tenants/acme/import', { body: { mac: '02cccccccc05' } }), 'file', /text\/csv/);
    assert.equal(await snapshot(), before);
  });

  it('accepts POSTs that carry no body or an empty JSON body', async () => {
    assert.equal((await h.req('POST', `/api/v1/devices/${MAC}/reset`)).status, 200);
    assert.equal((await h.req('POST', `/api/v1/devices/${MAC}/suspend`, { raw: '', contentType: 'application/json' })).status, 200);
  });
});
