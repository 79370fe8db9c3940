import { strict as assert } from 'node:assert';
import type { MinimalConfig } from '../../src/app/provisioning';
import type { Vendor } from '../../src/domain/types';
import { VENDORS } from '../../src/domain/types';
import { MinimalFiles } from '../../src/provisioning/minimal-files';
import { renderDeviceFile } from '../../src/provisioning/templates';
import { makeDevice } from '../helpers/store-fixtures';

/** Rendered minimal files kept per server (src/provisioning/minimal-files.ts). */

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

describe('kept minimal files', () => {
  it('keeps the rendering of a file asked for again, and serves it for the same device, state and credentials', () => {
    const files = new MinimalFiles();
    const first = files.render('mac.cfg', minimal());
    assert.deepEqual(first, renderDeviceFile('mac.cfg', minimal()));
    const second = files.render('mac.cfg', minimal());
    assert.notEqual(second, first, 'not kept at first sight');
    assert.equal(files.render('mac.cfg', minimal()), second, 'kept from the second');
    assert.deepEqual(second, first);
  });

  it('renders anew when the state, the SIP credentials, the MAC, the vendor, the emergency numbers or the file differ', () => {
    const files = new MinimalFiles();
    files.render('mac.cfg', minimal());
    files.render('mac.cfg', minimal()); // kept
    const cases: [Parameters<MinimalFiles['render']>[0], MinimalConfig, string][] = [
      ['mac.cfg', minimal({ label: 'Authentication failed' }), 'Authentication failed'],
      ['mac.cfg', minimal({ password: 'pw-2' }), 'pw-2'],
      ['mac.cfg', minimal({ username: 'pg-2' }), 'pg-2'],
      ['mac.cfg', minimal({ mac: '001565aabbcd' }), '00:15:65:AA:BB:CD'],
      ['mac.cfg', minimal({ vendor: 'patton' }), 'pg-1'],
      ['mac-phone.cfg', minimal({ vendor: 'poly' }), 'pg-1'],
      ['mac.cfg', minimal({ vendor: 'poly' }), 'CONFIG_FILES'],
      ['mac.cfg', minimal({ emergency: ['112', '17'] }), '112,17'],
    ];
    for (const [file, cfg, text] of cases) {
      files.render(file, cfg);
      const got = files.render(file, cfg);
      assert.deepEqual(got, renderDeviceFile(file, cfg));
      assert.ok(got.body.toUpperCase().includes(text.toUpperCase()), `${file} ${JSON.stringify(cfg.device)}: ${text}`);
    }
    // The user name's end is not guessed from the text: ('pg-1x', 'y') is not ('pg-1', 'xy').
    files.render('mac.cfg', minimal({ username: 'pg-1x', password: 'y' }));
    const a = files.render('mac.cfg', minimal({ username: 'pg-1x', password: 'y' })); // kept
    const b = files.render('mac.cfg', minimal({ username: 'pg-1', password: 'xy' }));
    assert.notEqual(a.body, b.body);
  });

  it('keeps at most its limit, dropping the oldest', () => {
    const files = new MinimalFiles(2);
    const twice = (password: string) => {
      files.render('mac.cfg', minimal({ password }));
      return files.render('mac.cfg', minimal({ password }));
    };
    const one = twice('1');
    assert.equal(files.render('mac.cfg', minimal({ password: '1' })), one);
    twice('2');
    twice('3');
    assert.notEqual(files.render('mac.cfg', minimal({ password: '1' })), one, 'rendered again');
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
