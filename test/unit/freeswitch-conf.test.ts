import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/config';

/**
 * freeswitch-conf/ cannot be loaded by a FreeSWITCH here, so CI checks what
 * breaks one at start-up: malformed XML, an include whose target is missing,
 * a preprocessor directive inside a comment (FreeSWITCH runs those too), a
 * freeswitch.xml that is not a <document type="freeswitch/xml">, and the
 * names drachtio-fsmrf relies on (profile drachtio_mrf, context mrf).
 */

const CONF = path.resolve(__dirname, '../../freeswitch-conf');

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
}

/** A small well-formedness checker and tree builder (no DTDs, no namespaces). Throws with a line number. */
export function parseXml(text: string): XmlElement {
  let i = 0;
  const line = () => text.slice(0, i).split('\n').length;
  const fail = (msg: string): never => {
    throw new Error(`${msg} at line ${line()}`);
  };
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const checkEntities = (t: string) => {
    if (/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(t)) fail('a bare & (use &amp;)');
  };
  const checkText = (t: string) => {
    checkEntities(t);
    if (stack.length === 0 && t.trim() !== '') fail('text outside the root element');
  };
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    checkText(lt < 0 ? text.slice(i) : text.slice(i, lt));
    if (lt < 0) break;
    i = lt;
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end < 0) fail('unclosed comment');
      if (text.slice(i + 4, end).includes('--')) fail('"--" inside a comment');
      i = end + 3;
    } else if (text.startsWith('<![CDATA[', i)) {
      const end = text.indexOf(']]>', i);
      if (end < 0 || stack.length === 0) fail('bad CDATA section');
      i = end + 3;
    } else if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i);
      if (end < 0 || (i > 0 && root === undefined && stack.length === 0 && text.slice(0, i).trim() !== '')) fail('bad processing instruction');
      i = end + 2;
    } else if (text.startsWith('</', i)) {
      const m = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(text.slice(i));
      if (!m) fail('bad end tag');
      const open = stack.pop();
      if (!open || open.name !== m![1]) fail(`</${m![1]}> does not close <${open?.name ?? ''}>`);
      i += m![0].length;
    } else {
      const m = /^<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(text.slice(i));
      if (!m) fail('bad start tag');
      const attrs: Record<string, string> = {};
      for (const a of m![2]!.matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        if (a[1]! in attrs) fail(`duplicate attribute ${a[1]}`);
        const value = a[2] ?? a[3] ?? '';
        checkEntities(value);
        attrs[a[1]!] = value;
      }
      const el: XmlElement = { name: m![1]!, attrs, children: [] };
      if (stack.length) stack[stack.length - 1]!.children.push(el);
      else if (root) fail('a second root element');
      else root = el;
      if (m![3] !== '/') stack.push(el);
      i += m![0].length;
    }
  }
  if (stack.length) fail(`<${stack[stack.length - 1]!.name}> is never closed`);
  if (!root) fail('no root element');
  return root!;
}

function xmlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? xmlFiles(p) : p.endsWith('.xml') ? [p] : [];
  });
}

const stripComments = (t: string) => t.replace(/<!--[\s\S]*?-->/g, '');

/** What an include names, relative to the including file's directory; `*` only in the file name. */
function includeTargets(file: string): { data: string; matches: string[] }[] {
  const out: { data: string; matches: string[] }[] = [];
  for (const m of stripComments(readFileSync(file, 'utf8')).matchAll(/<X-PRE-PROCESS\s+cmd="include"\s+data="([^"]+)"/g)) {
    const target = path.resolve(path.dirname(file), m[1]!);
    const dir = path.dirname(target);
    const pattern = new RegExp(
      `^${path
        .basename(target)
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')}$`,
    );
    const matches = existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => pattern.test(f))
          .map((f) => path.join(dir, f))
      : [];
    out.push({ data: m[1]!, matches });
  }
  return out;
}

function find(el: XmlElement, pred: (e: XmlElement) => boolean): XmlElement[] {
  return [...(pred(el) ? [el] : []), ...el.children.flatMap((c) => find(c, pred))];
}

const read = (rel: string) => readFileSync(path.join(CONF, rel), 'utf8');

describe('freeswitch-conf/', () => {
  const files = xmlFiles(CONF);

  it('has the files a media server for drachtio-fsmrf needs', () => {
    for (const f of [
      'freeswitch.xml',
      'vars.xml',
      'autoload_configs/modules.conf.xml',
      'autoload_configs/event_socket.conf.xml',
      'autoload_configs/sofia.conf.xml',
      'autoload_configs/switch.conf.xml',
      'sip_profiles/drachtio_mrf.xml',
      'dialplan/mrf.xml',
    ]) {
      assert.ok(existsSync(path.join(CONF, f)), `${f} exists`);
    }
  });

  it('is well-formed XML, file by file', () => {
    for (const f of files) assert.doesNotThrow(() => parseXml(readFileSync(f, 'utf8')), path.relative(CONF, f));
  });

  it('the checker itself catches what FreeSWITCH would choke on', () => {
    assert.throws(() => parseXml('<a><b></a>'), /does not close/);
    assert.throws(() => parseXml('<a x="1" x="2"/>'), /duplicate attribute/);
    assert.throws(() => parseXml('<a/><b/>'), /second root/);
    assert.throws(() => parseXml('<a>AT&T</a>'), /bare &/);
    assert.throws(() => parseXml('<a><!-- x -- y --></a>'), /inside a comment/);
    assert.throws(() => parseXml('<include>'), /never closed/);
  });

  it('every include names files that exist, each file is reached, and included files are fragments', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const inc of includeTargets(file)) {
        assert.ok(inc.matches.length > 0, `${path.relative(CONF, file)} includes "${inc.data}", which matches nothing`);
        for (const target of inc.matches) {
          // An <include> wrapper is dropped when inlined; autoload_configs hold bare <configuration>s.
          assert.ok(
            ['include', 'configuration'].includes(parseXml(readFileSync(target, 'utf8')).name),
            `${path.relative(CONF, target)} is an <include> fragment or a <configuration>`,
          );
          visit(target);
        }
      }
    };
    visit(path.join(CONF, 'freeswitch.xml'));
    const unreached = files.filter((f) => !seen.has(f)).map((f) => path.relative(CONF, f));
    assert.deepEqual(unreached, [], 'every file is loaded by some include');
  });

  it('spells no preprocessor directive inside a comment (FreeSWITCH would run it)', () => {
    for (const f of files) {
      for (const c of readFileSync(f, 'utf8').matchAll(/<!--[\s\S]*?-->/g)) {
        assert.ok(!c[0].includes('X-PRE-PROCESS'), `${path.relative(CONF, f)}: ${c[0].slice(0, 60)}`);
      }
    }
  });

  it('has a freeswitch.xml in the FreeSWITCH schema: a document with configuration and dialplan sections', () => {
    const root = parseXml(read('freeswitch.xml'));
    assert.equal(root.name, 'document');
    assert.equal(root.attrs.type, 'freeswitch/xml');
    assert.deepEqual(
      root.children
        .map((c) => c.attrs.name)
        .filter(Boolean)
        .sort(),
      ['configuration', 'dialplan'],
    );
  });

  it("defines every $${variable} it uses (local_ip_v4 is FreeSWITCH's own)", () => {
    const defined = new Set(['local_ip_v4', ...[...read('vars.xml').matchAll(/cmd="set"\s+data="([\w-]+)=/g)].map((m) => m[1]!)]);
    for (const f of files) {
      for (const m of readFileSync(f, 'utf8').matchAll(/\$\$\{([\w-]+)\}/g)) {
        assert.ok(defined.has(m[1]!), `${path.relative(CONF, f)} uses $\${${m[1]}}`);
      }
    }
  });

  it('loads the modules drachtio-fsmrf and the IVR use', () => {
    const loaded = find(parseXml(read('autoload_configs/modules.conf.xml')), (e) => e.name === 'load').map((e) => e.attrs.module);
    for (const m of ['mod_event_socket', 'mod_sofia', 'mod_commands', 'mod_dptools', 'mod_dialplan_xml', 'mod_sndfile', 'mod_console']) {
      assert.ok(loaded.includes(m), m);
    }
  });

  it('runs the drachtio_mrf profile into the mrf context, which sockets back to X-esl-outbound (async full)', () => {
    const profile = find(parseXml(read('sip_profiles/drachtio_mrf.xml')), (e) => e.name === 'profile')[0]!;
    assert.equal(profile.attrs.name, 'drachtio_mrf');
    const params = Object.fromEntries(find(profile, (e) => e.name === 'param').map((p) => [p.attrs.name, p.attrs.value]));
    assert.equal(params.context, 'mrf');
    assert.equal(params['dtmf-type'], 'rfc2833');
    const context = find(parseXml(read('dialplan/mrf.xml')), (e) => e.name === 'context')[0]!;
    assert.equal(context.attrs.name, 'mrf');
    const actions = find(context, (e) => e.name === 'action');
    const socket = actions.find((a) => a.attrs.application === 'socket');
    assert.equal(socket?.attrs.data, '${sip_h_X-esl-outbound} async full');
    assert.ok(actions.findIndex((a) => a.attrs.application === 'answer') < actions.indexOf(socket!), 'answer before socket');
    assert.ok(actions.some((a) => a.attrs.application === 'set' && a.attrs.data === 'playback_terminators=none'));
  });

  it('points the sound prefix at the prompts mount and keeps an RTP range', () => {
    assert.match(read('vars.xml'), /data="papgate_prompts=\/usr\/share\/papgate\/prompts"/);
    assert.match(read('vars.xml'), /data="sound_prefix=\$\$\{papgate_prompts\}"/);
    const params = find(parseXml(read('autoload_configs/switch.conf.xml')), (e) => e.name === 'param');
    const value = (n: string) => Number(expand(params.find((p) => p.attrs.name === n)?.attrs.value ?? ''));
    assert.ok(value('rtp-start-port') > 1024 && value('rtp-end-port') > value('rtp-start-port'));
  });

  it('sizes the RTP range from max_media_calls with headroom (4 ports a call), and compose publishes exactly that range', () => {
    const params = find(parseXml(read('autoload_configs/switch.conf.xml')), (e) => e.name === 'param');
    const value = (n: string) => Number(expand(params.find((p) => p.attrs.name === n)?.attrs.value ?? ''));
    const calls = Number(vars().max_media_calls);
    assert.ok(calls > 0, 'max_media_calls is set');
    assert.equal(value('max-sessions'), calls, 'FreeSWITCH refuses (503) beyond max_media_calls');
    const start = value('rtp-start-port');
    const end = value('rtp-end-port');
    assert.equal(end - start + 1, 4 * calls, 'twice the 2 ports a call FreeSWITCH takes');
    const compose = readFileSync(path.join(CONF, '..', 'docker-compose.yml'), 'utf8');
    assert.ok(compose.includes(`"${start}-${end}:${start}-${end}/udp"`), `docker-compose.yml publishes ${start}-${end}/udp`);
  });

  it("keeps FreeSWITCH's media_timeout above papgate's longest call, so papgate's goodbye comes first", () => {
    const setting = find(parseXml(read('dialplan/mrf.xml')), (e) => e.name === 'action' && /^media_timeout=/.test(e.attrs.data ?? ''))[0];
    assert.ok(setting, 'the mrf dialplan sets media_timeout');
    const ms = Number(expand(setting.attrs.data!.split('=')[1]!));
    const maxCallMs = loadConfig({}).maxCallSeconds * 1000;
    assert.ok(ms > maxCallMs, `media_timeout ${ms} ms > PAPGATE_MAX_CALL_SECONDS default (${maxCallMs} ms)`);
  });
});

/** vars.xml's `set` variables. */
function vars(): Record<string, string> {
  return Object.fromEntries([...read('vars.xml').matchAll(/cmd="set"\s+data="([\w-]+)=([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

/** Replaces $${name} with vars.xml's value. */
function expand(v: string): string {
  const all = vars();
  return v.replace(/\$\$\{([\w-]+)\}/g, (_, n: string) => all[n] ?? '');
}
