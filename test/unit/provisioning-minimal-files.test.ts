import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import type { MinimalConfig } from '../../src/app/provisioning';
import type { Vendor } from '../../src/domain/types';
import { VENDORS } from '../../src/domain/types';
import { MinimalFiles } from '../../src/provisioning/minimal-files';
import { MinimalStencil } from '../../src/provisioning/minimal-stencil';
import { renderDeviceFile } from '../../src/provisioning/templates';
import { makeDevice } from '../helpers/store-fixtures';

/** Minimal files filled in from stencils (src/provisioning/minimal-files.ts, minimal-stencil.ts). */

const MAC = '001565aabbcc';

function minimal(
  o: { vendor?: Vendor; label?: string; username?: string; password?: string; mac?: string; emergency?: readonly string[] } = {},
): MinimalConfig {
  return {
    kind: 'minimal',
    device: { mac: o.mac ?? MAC, vendor: o.vendor ?? 'yealink' },
    state: 'needed',
    label: o.label ?? 'Authentication needed',
    sip: { server: 'papgate.example.org', port: 5070, transport: 'udp', username: o.username ?? 'pg-1', password: o.password ?? 'pw-1' },
    emergencyNumbers: o.emergency ?? ['112'],
    hotline: '*89',
    resyncSeconds: 300,
    provisioningUrl: 'https://prov.example.org/',
  };
}

describe('minimal files from stencils', () => {
  const FILES = ['mac.cfg', 'mac-phone.cfg', 'mac.xml', 'snom-model-mac.htm', 'ConfigMAC.cfg'] as const;
  const LABELS = ['Authentication needed', 'Authentication failed', 'Authentication blocked'];
  const PLAIN = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-';
  const pick = (chars: string, n: number) => Array.from(randomBytes(n), (b) => chars[b % chars.length]).join('');
  const randomMac = () => {
    const b = randomBytes(6);
    b[0] = b[0]! & 0xfe; // unicast, as routes.ts lets through
    return b.toString('hex');
  };

  it('every vendor, file and state is stencilled, and filling in gives what the template renders', () => {
    for (const vendor of VENDORS) {
      for (const file of FILES) {
        for (const label of LABELS) {
          for (const emergency of [['112'], ['112', '911', '+4417']]) {
            const shape = minimal({ vendor, label, emergency });
            assert.notEqual(MinimalStencil.cut(renderDeviceFile, file, shape), null, `${vendor} ${file} ${label}`);
            const files = new MinimalFiles();
            for (let i = 0; i < 20; i++) {
              const cfg = minimal({
                vendor,
                label,
                emergency,
                mac: randomMac(),
                username: pick(PLAIN, 1 + (i % 40)),
                password: pick(PLAIN, 1 + ((i * 7) % 60)),
              });
              assert.deepEqual(files.render(file, cfg), renderDeviceFile(file, cfg), `${vendor} ${file} ${JSON.stringify(cfg.sip)}`);
            }
            assert.equal(files.shapes, 1);
          }
        }
      }
    }
  });

  it('credentials that escaping would change are rendered by the template', () => {
    const odd = ['a&b', 'p"w<x>', "it's", 'x y', ' lead', 'trail ', 'caf\u00e9', '$MA', 'new\nline', 'tab\tx', '', 'a'.repeat(200), '#;=', '\u2028'];
    for (const vendor of VENDORS) {
      for (const file of FILES) {
        const files = new MinimalFiles();
        files.render(file, minimal({ vendor })); // the shape's stencil exists
        for (const text of odd) {
          for (const cfg of [minimal({ vendor, username: text }), minimal({ vendor, password: text })]) {
            assert.deepEqual(files.render(file, cfg), renderDeviceFile(file, cfg), `${vendor} ${file} ${JSON.stringify(text)}`);
          }
        }
      }
    }
  });

  it('a template that does more with the values than write them is never stencilled', () => {
    const cfg = minimal();
    const text = (body: string) => ({ contentType: 'text/plain', body });
    const lengthOf: Parameters<typeof MinimalStencil.cut>[0] = (_f, c) => text(`user=${c.sip.username} pw=${c.sip.password.length}`);
    const upper: Parameters<typeof MinimalStencil.cut>[0] = (_f, c) => text(`user=${c.sip.username.toUpperCase()} pw=${c.sip.password}`);
    const branch: Parameters<typeof MinimalStencil.cut>[0] = (_f, c) => text(c.sip.username.length > 12 ? 'long' : `user=${c.sip.username}`);
    const macDigits: Parameters<typeof MinimalStencil.cut>[0] = (_f, c) => text(`mac=${c.device.mac.slice(6)}`);
    for (const render of [lengthOf, upper, branch, macDigits]) assert.equal(MinimalStencil.cut(render, 'mac.cfg', cfg), null);

    const plain: Parameters<typeof MinimalStencil.cut>[0] = (_f, c) => text(`${c.device.mac}|${c.sip.username}${c.sip.password}|${c.device.mac.toUpperCase()}`);
    const stencil = MinimalStencil.cut(plain, 'mac.cfg', cfg)!;
    // Adjoining holes are cut by position, not by guessing where the user name ends.
    assert.equal(stencil.fill('001565aabbcc', 'pg-1x', 'y')!.body, '001565aabbcc|pg-1xy|001565AABBCC');
    assert.equal(stencil.fill('001565aabbcc', 'pg-1', 'xy')!.body, '001565aabbcc|pg-1xy|001565AABBCC');
    assert.equal(stencil.fill('001565aabbcc', 'a&b', 'xy'), null, 'not plain: the caller renders');
  });

  it('keeps at most its limit of shapes, dropping the oldest', () => {
    const files = new MinimalFiles(2);
    for (const label of LABELS) files.render('mac.cfg', minimal({ label }));
    assert.equal(files.shapes, 2);
    for (const label of LABELS) assert.deepEqual(files.render('mac.cfg', minimal({ label })), renderDeviceFile('mac.cfg', minimal({ label })));
  });

  it('a minimal file depends on nothing of the device but its MAC and vendor (what the key holds)', () => {
    for (const vendor of VENDORS) {
      const plain = makeDevice({ mac: MAC, vendor });
      const other = makeDevice({
        mac: MAC,
        vendor,
        model: 'X9',
        siteId: 7,
        tenantId: 9,
        createdAt: 1,
        secretHash: 'a'.repeat(64),
        sipUsername: 'other',
        sipPassword: 'other',
        lastProvisionedIp: '192.0.2.1',
        lastProvisionedAt: 5,
        lines: [{ server: 's', user: 'u', authName: 'a', password: 'p', displayName: 'd' }],
        auth: { state: 'failed', pap: '000000' },
      });
      for (const file of ['mac.cfg', 'mac-phone.cfg', 'mac.xml', 'snom-model-mac.htm', 'ConfigMAC.cfg'] as const) {
        // At run time a minimal result carries the whole device: templates must not read past MAC and vendor.
        const a = renderDeviceFile(file, { ...minimal({ vendor }), device: plain });
        const b = renderDeviceFile(file, { ...minimal({ vendor }), device: other });
        assert.deepEqual(a, b, `${vendor} ${file}`);
      }
    }
  });
});
