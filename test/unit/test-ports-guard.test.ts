import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

// Two test runs on one host must not fight over port numbers, so tests take
// theirs from test/helpers/ports.ts. This guard reads every test source and
// fails on a literal port number handed to something that binds it. A line
// where the number is only text (nothing binds it) says so with a
// `// not bound` comment.

const TEST_ROOT = path.join(__dirname, '..');
const EXEMPT = new Set([path.join('helpers', 'ports.ts'), path.join('unit', 'test-ports-guard.test.ts')]);

const BINDING_PATTERNS: readonly RegExp[] = [
  /\.(?:listen|bind)\(\s*(\d{4,5})\b/, // server.listen(18000), socket.bind(16860, …)
  /\b[A-Z_]*PORT[A-Z_]*\s*[=:]\s*(?:String\()?'?(\d{4,5})\b/, // const PORT = 15000; PAPGATE_SIP_PORT: '19557'
  /\b(?:localPort|basePort|rtpPortMin|rtpPortMax|rtpStartPort|rtpEndPort)\s*:\s*(\d{4,5})\b/, // runSipp({ localPort: 18010 })
  /\b(?:startHarness|startPapgateHarness|listen)\(\{[^)]*\bport\s*:\s*(\d{4,5})\b/, // startHarness({ port: 15180 })
  /^\s*(?:const|let) [A-Z][A-Z_0-9]* = (\d{4,5});/, // const RTP_MIN = 20100; (a count that is no port says `// not a port`)
];

function testSources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...testSources(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Literal ports (>= 1024) bound by the given source text, as "line: text". */
export function fixedPortUses(source: string): string[] {
  const found: string[] = [];
  source.split('\n').forEach((line, i) => {
    if (/\/\/ not (?:bound|a port)\b/.test(line) || /^\s*(\/\/|\*)/.test(line)) return;
    for (const re of BINDING_PATTERNS) {
      const m = re.exec(line);
      if (m && Number(m[1]) >= 1024 && Number(m[1]) <= 65535) {
        found.push(`${i + 1}: ${line.trim()}`);
        break; // one finding per line
      }
    }
  });
  return found;
}

describe('tests take their ports from the OS', () => {
  it('the guard sees the forms a fixed port takes', () => {
    for (const bad of [
      'const PORT = 15000;',
      'await server.listen(17001);',
      "env: { PAPGATE_SIP_PORT: '19557' }",
      'startHarness({ port: 15180 })',
      'runSipp({ localPort: 18010 })',
      'rtpPortMin: 16100, rtpPortMax: 16119',
      'const PHONE = 20140;',
    ]) {
      assert.equal(fixedPortUses(bad).length, 1, bad);
    }
    for (const ok of [
      'const PORT = await freePort();',
      "sip: { server: 'sip.example', port: 5060 } // not bound",
      'this.timeout(15000);',
      'port: 80',
      "'m=audio 15998 RTP/AVP 0'",
      'const DATAGRAMS = 6000; // not a port',
    ]) {
      assert.deepEqual(fixedPortUses(ok), [], ok);
    }
  });

  it('no test source binds a literal port number', () => {
    const offenders: string[] = [];
    for (const file of testSources(TEST_ROOT)) {
      const rel = path.relative(TEST_ROOT, file);
      // settings parsed, never bound: the config tests are full of port values
      if (EXEMPT.has(rel) || rel.startsWith(path.join('fixtures', '')) || /^unit[/\\]config.*\.test\.ts$/.test(rel)) continue;
      for (const hit of fixedPortUses(readFileSync(file, 'utf8'))) offenders.push(`${rel}:${hit}`);
    }
    assert.deepEqual(offenders, [], 'use freePort()/freePortBlock()/portLayout() from test/helpers/ports.ts');
  });
});
