import { strict as assert } from 'node:assert';
import { startProvisioningTarget, type ProvisioningTarget } from '../helpers/provisioning-attack';
import { connectFrom, httpGet, settlesWithin, type TcpPeer } from '../helpers/tcp-peer';

/**
 * A host that opens connections to papgate's HTTP ports and holds them,
 * saying nothing: the whole papgate, as `papgate serve` wires it. It holds
 * at most the per-source cap of each port, anything more is closed at once,
 * phones elsewhere go on being served, and on the provisioning port a silent
 * connection is closed after PAPGATE_PROVISIONING_IDLE_SECONDS.
 */

const HOLDER = '127.0.0.3';
const PHONE = '127.0.0.2';
const EXEMPT = '127.0.0.8';
const PROXY = '127.0.0.9';

describe('attack: connections held open on the HTTP ports', function () {
  this.timeout(60_000);
  const peers: TcpPeer[] = [];
  const targets: ProvisioningTarget[] = [];

  async function open(port: number, from: string): Promise<TcpPeer> {
    const peer = await connectFrom(port, from);
    peers.push(peer);
    return peer;
  }

  async function target(env: Record<string, string>): Promise<ProvisioningTarget> {
    const t = await startProvisioningTarget(env);
    targets.push(t);
    return t;
  }

  afterEach(async () => {
    for (const p of peers.splice(0)) p.socket.destroy();
    for (const t of targets.splice(0)) await t.stop();
  });

  it('holds one source to its cap on the provisioning and the admin port; proxies and exempt sources only count in the total', async () => {
    const t = await target({
      PAPGATE_PROVISIONING_MAX_CONNECTIONS_PER_SOURCE: '4',
      PAPGATE_ADMIN_MAX_CONNECTIONS_PER_SOURCE: '3',
      PAPGATE_TRUSTED_PROXIES: PROXY,
      PAPGATE_LIMIT_EXEMPT: EXEMPT,
    });
    const mac = await t.addDevice('001565cc0001');
    const adminPort = Number(new URL(t.instance.adminUrl).port);

    const held: TcpPeer[] = [];
    for (let i = 0; i < 4; i++) held.push(await open(t.port, HOLDER));
    const over = await open(t.port, HOLDER);
    assert.ok(await settlesWithin(over.closed, 5000), 'the fifth connection is closed at once');
    assert.equal(over.received(), '', 'without an answer');
    assert.equal(await httpGet(await open(t.port, PHONE), `/${mac}.cfg`), 'HTTP/1.1 200 OK', 'a phone elsewhere is served');
    assert.equal(await httpGet(held[3]!, `/${mac}.cfg`), 'HTTP/1.1 200 OK', 'the connections it holds still work');
    for (const from of [PROXY, EXEMPT]) {
      for (let i = 0; i < 6; i++) assert.equal(await httpGet(await open(t.port, from), `/${mac}.cfg`), 'HTTP/1.1 200 OK', `${from}: connection ${i + 1}`);
    }

    for (let i = 0; i < 3; i++) await open(adminPort, HOLDER);
    const overAdmin = await open(adminPort, HOLDER);
    assert.ok(await settlesWithin(overAdmin.closed, 5000), 'the admin port closes the fourth');
    assert.equal(await httpGet(await open(adminPort, PHONE), '/healthz'), 'HTTP/1.1 200 OK', 'someone else reaches the admin port');

    const m = await t.instance.metrics.rateLimited.get();
    const dropped = (limit: string) => m.values.find((v) => v.labels.limit === limit && v.labels.action === 'dropped')?.value ?? 0;
    assert.equal(dropped('provisioning_connections_source'), 1);
    assert.equal(dropped('admin_connections_source'), 1);
  });

  it('closes a provisioning connection that says nothing, and keeps one that polls', async () => {
    const t = await target({ PAPGATE_PROVISIONING_IDLE_SECONDS: '1' });
    const mac = await t.addDevice('001565cc0002');
    const silent = await open(t.port, HOLDER);
    const phone = await open(t.port, PHONE);
    assert.equal(await httpGet(phone, `/${mac}.cfg`), 'HTTP/1.1 200 OK');
    assert.ok(await settlesWithin(silent.closed, 20_000), 'the silent connection is closed');
    assert.equal(silent.received(), '');
    assert.equal(phone.socket.destroyed, false, 'a keep-alive connection that was used has its own, longer timeout');
    assert.equal(await httpGet(phone, `/${mac}.cfg`), 'HTTP/1.1 200 OK');
  });
});
