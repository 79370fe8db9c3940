import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/config';
import { LB_MEM_MANAGER, LB_SHM_MB } from '../helpers/kamailio';

/**
 * No Docker engine runs in CI, so the compose file is checked by structure:
 * services, pinned images, the mounts FreeSWITCH needs, the database volume,
 * the test profile, and that it agrees with the Dockerfile, the FreeSWITCH
 * configuration and scripts/test-compose.sh. docker-compose.yml keeps to a
 * plain YAML subset (block maps and lists, no anchors or flow style) that the
 * small reader below understands.
 */

const ROOT = path.resolve(__dirname, '../..');
const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');

type Yaml = string | null | Yaml[] | { [k: string]: Yaml };
interface Line {
  indent: number;
  text: string;
  no: number;
}

function scalar(raw: string): string {
  const t = raw.trim();
  if (/^"(?:[^"\\]|\\.)*"$/.test(t)) return JSON.parse(t) as string;
  if (/^'(?:[^']|'')*'$/.test(t)) return t.slice(1, -1).replace(/''/g, "'");
  if (/^["'[{&*!|>]/.test(t)) throw new Error(`unsupported YAML scalar: ${t}`);
  return t.replace(/\s+#.*$/, '');
}

/** Reads the YAML subset docker-compose.yml is written in; throws on anything outside it. */
export function readYamlSubset(text: string): Yaml {
  const lines: Line[] = [];
  text.split('\n').forEach((l, i) => {
    if (/^\s*(#.*)?$/.test(l)) return;
    if (/\t/.test(l.match(/^\s*/)![0])) throw new Error(`tab indentation on line ${i + 1}`);
    lines.push({ indent: l.length - l.trimStart().length, text: l.trim(), no: i + 1 });
  });
  let i = 0;
  const block = (indent: number): Yaml => (lines[i]!.text.startsWith('- ') || lines[i]!.text === '-' ? seq(indent) : map(indent));
  function seq(indent: number): Yaml[] {
    const out: Yaml[] = [];
    while (i < lines.length && lines[i]!.indent === indent && (lines[i]!.text.startsWith('- ') || lines[i]!.text === '-')) {
      const rest = lines[i]!.text.slice(1).trim();
      if (rest === '') {
        i++;
        out.push(block(lines[i]!.indent));
      } else if (/^[\w.-]+:(\s|$)/.test(rest)) {
        lines[i] = { ...lines[i]!, indent: indent + 2, text: rest }; // "- key: v" opens a map
        out.push(map(indent + 2));
      } else {
        out.push(scalar(rest));
        i++;
      }
    }
    return out;
  }
  function map(indent: number): { [k: string]: Yaml } {
    const out: { [k: string]: Yaml } = {};
    while (i < lines.length && lines[i]!.indent === indent) {
      const l = lines[i]!;
      const m = /^([\w.-]+|"[^"]+"):(?:\s+(.*))?$/.exec(l.text);
      if (!m) throw new Error(`unsupported YAML on line ${l.no}: ${l.text}`);
      const key = scalar(m[1]!);
      if (key in out) throw new Error(`duplicate key ${key} on line ${l.no}`);
      i++;
      if (m[2] !== undefined && !m[2].startsWith('#')) out[key] = scalar(m[2]);
      else if (i < lines.length && lines[i]!.indent > indent) out[key] = block(lines[i]!.indent);
      else if (i < lines.length && lines[i]!.indent === indent && lines[i]!.text.startsWith('- ')) out[key] = seq(indent);
      else out[key] = null;
    }
    if (i < lines.length && lines[i]!.indent > indent) throw new Error(`bad indentation on line ${lines[i]!.no}`);
    return out;
  }
  const doc = block(0);
  if (i !== lines.length) throw new Error(`unparsed YAML from line ${lines[i]!.no}`);
  return doc;
}

type Obj = { [k: string]: Yaml };
const obj = (y: Yaml | undefined): Obj => (y && typeof y === 'object' && !Array.isArray(y) ? y : {});
const list = (y: Yaml | undefined): string[] => (Array.isArray(y) ? y.map(String) : []);

describe('docker-compose.yml', () => {
  const compose = obj(readYamlSubset(read('docker-compose.yml')));
  const services = obj(compose.services);
  const svc = (name: string) => obj(services[name]);
  const env = (name: string) => obj(svc(name).environment);

  it('the YAML reader refuses what it does not understand', () => {
    assert.throws(() => readYamlSubset('a: &x 1\nb: *x\n'), /unsupported/);
    assert.throws(() => readYamlSubset('a: [1, 2]\n'), /unsupported/);
    assert.deepEqual(readYamlSubset('a:\n  - x\n  - k: v\n    j: "w"\nb: c # note\n'), { a: ['x', { k: 'v', j: 'w' }], b: 'c' });
  });

  it('has drachtio-server, FreeSWITCH, papgate, and SIPp under the test profile', () => {
    assert.deepEqual(Object.keys(compose).sort(), ['name', 'networks', 'services', 'volumes']);
    for (const s of ['drachtio', 'freeswitch', 'papgate', 'sipp', 'sipp-gateway']) assert.ok(s in services, s);
    for (const s of ['sipp', 'sipp-gateway']) assert.deepEqual(list(svc(s).profiles), ['test'], `${s} only with --profile test`);
    for (const s of ['drachtio', 'freeswitch', 'papgate']) assert.equal(svc(s).profiles, undefined, `${s} always runs`);
  });

  it('pins every pulled image to a tag other than latest', () => {
    for (const [name, s] of Object.entries(services)) {
      const image = String(obj(s).image ?? '');
      if (obj(s).build) continue; // built here, tagged locally
      const tag = /:([^/:]+)$/.exec(image)?.[1];
      assert.ok(tag && tag !== 'latest', `${name}: ${image} is pinned`);
    }
    assert.equal(svc('drachtio').image, 'drachtio/drachtio-server:0.9.4');
    assert.equal(svc('freeswitch').image, 'drachtio/drachtio-freeswitch-mrf:v1.10.1-full');
  });

  it('builds papgate and SIPp from stages of our Dockerfile, whose base is pinned', () => {
    const dockerfile = read('Dockerfile');
    const stages = [...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]);
    for (const s of ['papgate', 'sipp', 'sipp-gateway']) {
      assert.ok(stages.includes(String(obj(svc(s).build).target)), `${s} builds stage ${String(obj(svc(s).build).target)}`);
    }
    const base = /^ARG NODE_IMAGE=(\S+)/m.exec(dockerfile)?.[1] ?? '';
    assert.match(base, /^node:\d+\.\d+\.\d+-/);
    assert.match(dockerfile, /RUN npm ci/);
    const bin = (JSON.parse(read('package.json')) as { bin: Record<string, string> }).bin.papgate;
    assert.match(dockerfile, new RegExp(`^CMD \\["node", "${bin}", "serve"\\]$`, 'm'), `runs ${bin} serve`);
    assert.ok(stages.indexOf('runtime') === stages.length - 1, 'the default (last) stage is the papgate runtime');
  });

  it('ships in the runtime image every directory papgate reads at run time from its package root', () => {
    const runtime = read('Dockerfile').split(/^FROM\s+\S+\s+AS\s+runtime$/m)[1] ?? '';
    // prompts/ (PromptLibrary) and the portal's static files (registerPortal) are read, not compiled.
    for (const dir of ['prompts', 'src/admin/web/static']) {
      assert.match(runtime, new RegExp(`^COPY ${dir} \\./${dir}$`, 'm'), `the runtime stage copies ${dir}/`);
    }
    assert.match(runtime, /^COPY --from=build \/app\/dist \.\/dist$/m);
  });

  it('mounts freeswitch-conf/ where FreeSWITCH is told to read it, and prompts/ where papgate says it is', () => {
    const fs = svc('freeswitch');
    const volumes = list(fs.volumes);
    const conf = volumes.find((v) => v.startsWith('./freeswitch-conf:'))?.split(':')[1];
    const args = list(fs.command);
    assert.equal(args[args.indexOf('-conf') + 1], conf);
    for (const flag of ['-log', '-db']) assert.ok(args.includes(flag), `${flag} (FreeSWITCH wants -conf, -log and -db together)`);
    const prompts = env('papgate').PAPGATE_FREESWITCH_PROMPTS;
    assert.ok(volumes.includes(`./prompts:${prompts}:ro`), 'FreeSWITCH sees prompts/ at PAPGATE_FREESWITCH_PROMPTS');
    assert.ok(list(svc('papgate').volumes).includes(`./prompts:${env('papgate').PAPGATE_PROMPTS_DIR}:ro`), 'papgate reads the same files');
  });

  it("keeps papgate's SQLite database on a named volume", () => {
    const db = String(env('papgate').PAPGATE_DB);
    const mount = list(svc('papgate').volumes).find((v) => v.endsWith(`:${path.posix.dirname(db)}`));
    assert.ok(mount, `a volume at ${path.posix.dirname(db)}`);
    assert.ok(mount!.split(':')[0]! in obj(compose.volumes), 'declared under volumes:');
  });

  it('selects the production adapters and points them at the other services', () => {
    const e = env('papgate');
    assert.equal(e.PAPGATE_SIGNALLING, 'drachtio');
    assert.equal(e.PAPGATE_MEDIA, 'freeswitch');
    assert.ok(String(e.PAPGATE_DRACHTIO_HOST) in services && String(e.PAPGATE_FREESWITCH_HOST) in services);
    const ip = (s: string) => String(obj(obj(svc(s).networks).papgate).ipv4_address);
    assert.equal(e.PAPGATE_FREESWITCH_LISTEN_ADDRESS, ip('papgate'), "FreeSWITCH connects back to papgate's own address");
    const secret = /data="event_socket_password=([^"]+)"/.exec(read('freeswitch-conf/vars.xml'))?.[1];
    assert.equal(e.PAPGATE_FREESWITCH_SECRET, secret, 'the event socket password matches freeswitch-conf');
    assert.ok(list(svc('drachtio').command).includes(`sip:${ip('drachtio')}:5060;transport=udp,tcp`));
    const script = read('scripts/test-compose.sh');
    assert.ok(
      script.includes(`DRACHTIO=${ip('drachtio')}:5060`) && script.includes(`SIPP_IP=${ip('sipp')}`) && script.includes(`GATEWAY_IP=${ip('sipp-gateway')}`),
      'the test script uses the same addresses',
    );
    assert.ok(String(e.PAPGATE_EMERGENCY_GATEWAY).includes(ip('sipp-gateway')), 'the default gateway is the test gateway');
  });

  it('publishes SIP on 5060 (UDP and TCP) and exactly the RTP range FreeSWITCH uses', () => {
    assert.deepEqual(list(svc('drachtio').ports).sort(), ['5060:5060/tcp', '5060:5060/udp']);
    // switch.conf.xml takes the range from vars.xml (rtp_start_port, rtp_end_port)
    const vars = read('freeswitch-conf/vars.xml');
    const port = (n: string) => new RegExp(`data="${n}=(\\d+)"`).exec(vars)?.[1];
    const range = `${port('rtp_start_port')}-${port('rtp_end_port')}`;
    assert.deepEqual(list(svc('freeswitch').ports), [`${range}:${range}/udp`]);
    assert.ok(list(svc('papgate').ports).includes('127.0.0.1:8081:8081'), "the admin API only on the host's loopback");
  });

  describe('profile scale: two nodes on PostgreSQL behind Kamailio', () => {
    const scale = ['postgres', 'papgate-migrate', 'kamailio', 'papgate-a', 'papgate-b'];
    const ip = (s: string) => String(obj(obj(svc(s).networks).papgate).ipv4_address);

    it('puts PostgreSQL, the migration, Kamailio and two nodes under the scale profile only', () => {
      for (const s of scale) assert.deepEqual(list(svc(s).profiles), ['scale'], `${s} only with --profile scale`);
      assert.match(String(svc('postgres').image), /^postgres:15\.\d+$/);
      assert.ok(
        list(svc('postgres').volumes).some((v) => v.split(':')[0]! in obj(compose.volumes)),
        'the database on a named volume',
      );
    });

    it('lets the nodes with embedded media raise their media thread to the default nice value', () => {
      for (const node of ['papgate-a', 'papgate-b']) {
        assert.equal(env(node).PAPGATE_MEDIA, 'embedded');
        // Linux: an unprivileged thread may go down to nice 20 - RLIMIT_NICE.
        assert.equal(20 - Number(obj(svc(node).ulimits).nice), loadConfig({}).mediaNice, node);
      }
    });

    it('migrates once before the nodes start, on the same database the nodes use', () => {
      assert.deepEqual(list(svc('papgate-migrate').command).slice(-1), ['migrate']);
      assert.equal(obj(obj(svc('papgate-migrate').depends_on).postgres).condition, 'service_healthy');
      for (const n of ['papgate-a', 'papgate-b']) {
        assert.match(String(env(n).PAPGATE_DB), /^postgres:\/\/[^@]+@postgres:5432\/papgate$/, `${n} uses the postgres service`);
        assert.equal(env(n).PAPGATE_DB, env('papgate-migrate').PAPGATE_DB);
        assert.equal(obj(obj(svc(n).depends_on)['papgate-migrate']).condition, 'service_completed_successfully');
      }
    });

    it('Kamailio dispatches to exactly the nodes, which trust its Vias and name it to phones', () => {
      const k = svc('kamailio');
      const mount = list(k.volumes)
        .find((v) => v.startsWith('./kamailio-conf:'))!
        .split(':')[1]!;
      const args = list(k.command);
      assert.equal(args[args.indexOf('-f') + 1], `${mount}/kamailio.cfg`);
      assert.ok(args.includes(`DISPATCHER_LIST="${mount}/dispatcher.list"`));
      // The shared memory the tests' balancer runs with, which held 1,000 REGISTERs a second without a 503.
      assert.equal(Number(args[args.indexOf('-m') + 1]), LB_SHM_MB);
      assert.equal(args[args.indexOf('-x') + 1], LB_MEM_MANAGER);
      const listed = read('kamailio-conf/dispatcher.list')
        .split('\n')
        .filter((l) => /^1\s/.test(l))
        .map((l) => l.split(/\s+/)[1]);
      assert.deepEqual(listed, [`sip:${ip('papgate-a')}:5060`, `sip:${ip('papgate-b')}:5060`]);
      for (const n of ['papgate-a', 'papgate-b']) {
        assert.equal(env(n).PAPGATE_SIP_TRUSTED_PROXIES, ip('kamailio'));
        assert.equal(env(n).PAPGATE_SIP_ADVERTISED_ADDRESS, ip(n));
        assert.match(String(env(n).PAPGATE_SIP_PROXY), new RegExp(`${ip('kamailio').replace(/\./g, '\\.')}\\}:5060$`));
      }
      assert.match(read('kamailio-conf/Dockerfile'), /^FROM debian:12\.\d+-slim$/m);
    });
  });
});
