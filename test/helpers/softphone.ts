/**
 * A real SIP soft-phone for interoperability tests: baresip (Debian package
 * `baresip-core`), headless, on 127.0.0.1 only.
 *
 * - Config and accounts are written to a temp dir (`baresip -f DIR`), so the
 *   user's ~/.baresip is never read or written.
 * - No sound device: the microphone is `ausine` (a 440 Hz sine; it only runs
 *   at 48 kHz stereo, baresip resamples it to 8 kHz mono for PCMU) and the
 *   speaker and alert device are an `aubridge` device nobody reads.
 * - It is driven through its `ctrl_tcp` module (netstring-framed JSON:
 *   `{"command":"dial","params":"*89"}`, `sndcode` for DTMF, which baresip
 *   1.0 sends as RFC 4733 telephone-events), which also pushes its events
 *   (CALL_ESTABLISHED, CALL_CLOSED, ...) as JSON.
 * - `-s` makes it print every SIP message it sends and receives; that trace is
 *   what tells which side sent the BYE and whether the NOTIFY arrived.
 * - DNS goes to 127.0.0.1 (a port nobody answers on): the phone never sends
 *   anything off the loopback interface.
 *
 * Ports: a phone started on `base` binds base (SIP UDP+TCP), base+1 (SIP TLS,
 * which baresip always opens on the next port), base+2 (ctrl_tcp) and
 * base+4..base+19 (RTP/RTCP).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The Debian package that brings /usr/bin/baresip and its modules (no GUI). */
export const BARESIP_PACKAGE = 'baresip-core';

const MODULE_DIRS = ['/usr/lib/baresip/modules', '/usr/lib/x86_64-linux-gnu/baresip/modules', '/usr/local/lib/baresip/modules'];
const MODULES = ['g711', 'ausine', 'aubridge', 'account', 'menu', 'ctrl_tcp'];
const MAX_OUTPUT = 2 * 1024 * 1024;

/** Why baresip cannot be used here, or null when it can. */
export function baresipMissing(): string | null {
  const r = spawnSync('baresip', ['-h'], { encoding: 'utf8', timeout: 5000 });
  if (r.error) return `baresip is not installed (apt-get install -y ${BARESIP_PACKAGE})`;
  if (!/baresip v/i.test(`${r.stdout}${r.stderr}`)) return `"baresip -h" did not print a baresip version`;
  if (!moduleDir()) return `baresip's modules (${MODULES.join(', ')}) were not found under ${MODULE_DIRS.join(' or ')}`;
  return null;
}

/** Why baresip cannot speak SRTP here (its `srtp` module is missing), or null when it can. */
export function baresipSrtpMissing(): string | null {
  const dir = moduleDir();
  if (!dir) return baresipMissing();
  return existsSync(path.join(dir, 'srtp.so')) ? null : `baresip's srtp module (srtp.so) is not in ${dir}`;
}

function moduleDir(): string | null {
  return MODULE_DIRS.find((d) => MODULES.every((m) => existsSync(path.join(d, `${m}.so`)))) ?? null;
}

export interface BaresipOptions {
  /** SIP username and digest password of the account. */
  username: string;
  password: string;
  /** The registrar/proxy, host:port (papgate's SIP service). */
  registrar: string;
  /** First of the 20 ports this phone uses (see the file comment). */
  basePort: number;
  /** How long to wait for the control interface (default 10 s). */
  startTimeoutMs?: number;
  /** SDES SRTP: `srtp` offers RTP/AVP with a=crypto, `srtp-mand` RTP/SAVP (loads baresip's srtp module). */
  mediaenc?: 'srtp' | 'srtp-mand';
  /** 'tls': the account registers over SIP over TLS (`;transport=tls`), trusting only `caFile`. */
  transport?: 'udp' | 'tls';
  /** PEM file of the CA that signed papgate's SIP certificate (with transport 'tls'). */
  caFile?: string;
}

/** An event pushed by ctrl_tcp, e.g. `{type: 'CALL_CLOSED', param: 'Connection reset by peer', id: '<Call-ID>'}`. */
export interface BaresipEvent {
  type: string;
  class?: string;
  param?: string;
  /** The call's Call-ID, on call events. */
  id?: string;
  peeruri?: string;
  [key: string]: unknown;
}

/** One SIP message from baresip's `-s` trace. */
export interface TracedSipMessage {
  direction: 'in' | 'out';
  from: string;
  to: string;
  /** The request method, or null for a response. */
  method: string | null;
  /** The response status, or null for a request. */
  status: number | null;
  /** The start line. */
  firstLine: string;
  /** Header values by lower-case name (the first of each). */
  headers: Record<string, string>;
  text: string;
}

export interface Baresip {
  readonly sipPort: number;
  readonly controlPort: number;
  readonly dir: string;
  /** Events received so far, oldest first. */
  readonly events: BaresipEvent[];
  /** Runs a ctrl_tcp command and resolves with its response (rejects when it is not ok). */
  command(command: string, params?: string, timeoutMs?: number): Promise<string>;
  /** Resolves with the first event (already received or still to come) that matches; bounded. */
  waitEvent(type: string, match?: (e: BaresipEvent) => boolean, timeoutMs?: number): Promise<BaresipEvent>;
  /** Dials a number with the account and resolves with the call's Call-ID once the call is established. */
  dial(number: string, timeoutMs?: number): Promise<string>;
  /** Sends digits (0-9, *, #) on the current call as DTMF, one `sndcode` each, `gapMs` apart. */
  sendDigits(digits: string, gapMs?: number): Promise<void>;
  /** The SIP messages traced so far. */
  sipTrace(): TracedSipMessage[];
  /** Waits (bounded) for a traced SIP message that matches. */
  waitSip(match: (m: TracedSipMessage) => boolean, what: string, timeoutMs?: number): Promise<TracedSipMessage>;
  /** What baresip printed so far (ANSI colours removed), for failure messages. */
  output(lastChars?: number): string;
  /** Kills baresip (SIGTERM, then SIGKILL) and removes its temp dir; safe to call twice. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Writes the config, starts baresip and connects to its control interface. */
export async function startBaresip(o: BaresipOptions): Promise<Baresip> {
  const modules = moduleDir();
  if (!modules) throw new Error(baresipMissing() ?? 'baresip modules not found');
  const sipPort = o.basePort;
  const controlPort = o.basePort + 2;
  const rtpMin = o.basePort + 4;
  const rtpMax = o.basePort + 19;
  const dir = mkdtempSync(path.join(tmpdir(), 'papgate-baresip-'));
  writeFileSync(
    path.join(dir, 'config'),
    [
      `module_path\t\t${modules}`,
      'poll_method\t\tepoll',
      `sip_listen\t\t127.0.0.1:${sipPort}`,
      'net_interface\t\t127.0.0.1',
      `dns_server\t\t127.0.0.1:${o.basePort + 3}`,
      'call_local_timeout\t30',
      'call_max_calls\t\t1',
      'audio_player\t\taubridge,nil',
      'audio_alert\t\taubridge,nil',
      'audio_source\t\tausine,440',
      'ausrc_srate\t\t48000',
      'ausrc_channels\t\t2',
      `rtp_ports\t\t${rtpMin}-${rtpMax}`,
      'rtp_timeout\t\t0',
      'ringback_disabled\tyes',
      ...(o.caFile ? [`sip_cafile\t\t${o.caFile}`] : []),
      'module\t\t\tg711.so',
      'module\t\t\tausine.so',
      'module\t\t\taubridge.so',
      'module_tmp\t\taccount.so',
      'module_app\t\tmenu.so',
      'module_app\t\tctrl_tcp.so',
      ...(o.mediaenc ? ['module\t\t\tsrtp.so'] : []),
      `ctrl_tcp_listen\t\t127.0.0.1:${controlPort}`,
      '',
    ].join('\n'),
  );
  // PCMU only, so that papgate's answer is predictable; regint is the REGISTER's Expires.
  writeFileSync(
    path.join(dir, 'accounts'),
    `<sip:${o.username}@${o.registrar};transport=${o.transport ?? 'udp'}>;auth_pass=${o.password};audio_codecs=PCMU;regint=600;answermode=manual${o.mediaenc ? `;mediaenc=${o.mediaenc}` : ''}\n`,
  );

  let out = '';
  const child: ChildProcess = spawn('baresip', ['-f', dir, '-s'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (b: Buffer) => {
    out += b.toString('utf8');
    if (out.length > MAX_OUTPUT) out = out.slice(out.length - MAX_OUTPUT / 2);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.once('error', (err) => {
      out += `\nspawn error: ${err.message}\n`;
      exited = { code: -1, signal: null };
      resolve();
    });
  });
  // mocha exits with process.exit(): never leave a phone behind.
  const killOnExit = () => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const clean = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r\n/g, '\n');
  const output = (last = 6000) => clean(out).slice(-last);

  let stopped = false;
  let socket: net.Socket | null = null;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    socket?.destroy();
    if (!exited) {
      child.kill('SIGTERM');
      await Promise.race([exit, sleep(3000)]);
      if (!exited) {
        child.kill('SIGKILL');
        await Promise.race([exit, sleep(3000)]);
      }
    }
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };

  // --- the control connection (netstrings: "<len>:<json>,") -----------------
  const events: BaresipEvent[] = [];
  const eventWaiters = new Set<() => void>();
  const pending = new Map<string, { resolve: (data: string) => void; reject: (e: Error) => void }>();
  let tokens = 0;
  let inbuf = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    inbuf = Buffer.concat([inbuf, chunk]);
    for (;;) {
      const colon = inbuf.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(inbuf.subarray(0, colon).toString('ascii'));
      if (!Number.isInteger(len) || len < 0) {
        out += `\n[test] ctrl_tcp: not a netstring: ${inbuf.subarray(0, 40).toString()}\n`;
        inbuf = Buffer.alloc(0);
        return;
      }
      if (inbuf.length < colon + 1 + len + 1) return;
      const text = inbuf.subarray(colon + 1, colon + 1 + len).toString('utf8');
      inbuf = inbuf.subarray(colon + 1 + len + 1);
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (msg.event === true) {
        events.push(msg as unknown as BaresipEvent);
        for (const w of [...eventWaiters]) w();
      } else if (msg.response === true && typeof msg.token === 'string') {
        const p = pending.get(msg.token);
        pending.delete(msg.token);
        if (!p) continue;
        if (msg.ok === true) p.resolve(typeof msg.data === 'string' ? msg.data : '');
        else p.reject(new Error(`baresip refused the command: ${String(msg.data)}`));
      }
    }
  };

  try {
    const until = Date.now() + (o.startTimeoutMs ?? 10_000);
    while (!socket) {
      if (exited) throw new Error(`baresip exited at start (${JSON.stringify(exited)})`);
      try {
        socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(controlPort, '127.0.0.1');
          s.once('connect', () => {
            s.off('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
      } catch (e) {
        if (Date.now() > until) throw new Error(`baresip's control port ${controlPort} did not open: ${(e as Error).message}`);
        await sleep(100);
      }
    }
  } catch (e) {
    const text = output();
    await stop();
    throw new Error(`${(e as Error).message}\n--- baresip output ---\n${text}`);
  }
  socket.on('data', onData);
  socket.on('error', () => undefined);
  socket.on('close', () => {
    for (const p of pending.values()) p.reject(new Error('baresip closed its control connection'));
    pending.clear();
  });

  const command = (cmd: string, params = '', timeoutMs = 5000) =>
    new Promise<string>((resolve, reject) => {
      if (!socket || socket.destroyed) return reject(new Error('no control connection to baresip'));
      const token = `t${++tokens}`;
      const timer = setTimeout(() => {
        pending.delete(token);
        reject(new Error(`baresip did not answer "${cmd} ${params}" within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(token, {
        resolve: (d) => {
          clearTimeout(timer);
          resolve(d);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      const json = JSON.stringify({ command: cmd, params, token });
      socket.write(`${Buffer.byteLength(json)}:${json},`);
    });

  /** Polls `probe` until it returns something, or fails after timeoutMs with the phone's output. */
  const waitFor = async <T>(probe: () => T | undefined, what: string, timeoutMs: number): Promise<T> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = probe();
      if (found !== undefined) return found;
      if (exited) throw new Error(`baresip exited (${JSON.stringify(exited)}) while waiting for ${what}\n--- baresip output ---\n${output()}`);
      if (Date.now() > until) {
        throw new Error(`no ${what} within ${timeoutMs} ms; events: ${events.map((e) => e.type).join(', ')}\n--- baresip output ---\n${output()}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, 100);
        function done() {
          clearTimeout(t);
          eventWaiters.delete(done);
          resolve();
        }
        eventWaiters.add(done);
      });
    }
  };

  const waitEvent = (type: string, match: (e: BaresipEvent) => boolean = () => true, timeoutMs = 15_000) =>
    waitFor(() => events.find((e) => e.type === type && match(e)), `${type} event from baresip`, timeoutMs);

  // Over TLS baresip talks from a port of its own choosing: tell directions by papgate's address instead.
  const sipTrace = () => parseTrace(clean(out), sipPort, o.transport === 'tls' ? o.registrar : undefined);

  return {
    sipPort,
    controlPort,
    dir,
    events,
    command,
    waitEvent,
    output,
    stop,
    sipTrace,
    waitSip: (match, what, timeoutMs = 10_000) => waitFor(() => sipTrace().find(match), what, timeoutMs),
    dial: async (number, timeoutMs = 15_000) => {
      const seen = events.length;
      await command('dial', number);
      const isNew = (e: BaresipEvent) => events.indexOf(e) >= seen;
      const first = await waitFor(
        () => events.find((e) => isNew(e) && (e.type === 'CALL_ESTABLISHED' || e.type === 'CALL_CLOSED')),
        `answer to the call to ${number}`,
        timeoutMs,
      );
      if (first.type === 'CALL_CLOSED') {
        throw new Error(`the call to ${number} failed: ${first.param ?? ''}\n--- baresip output ---\n${output()}`);
      }
      return String(first.id ?? '');
    },
    sendDigits: async (digits, gapMs = 250) => {
      for (const d of digits) {
        if (!/^[0-9*#]$/.test(d)) throw new Error(`not a DTMF digit: ${d}`);
        await command('sndcode', d);
        await sleep(gapMs);
      }
    },
  };
}

/**
 * baresip's `-s` trace: each message is printed as `#`, then
 * `UDP a:p -> b:p`, then the message. Messages it sent come from its own port
 * (or, when `peer` is given, do not come from that address).
 */
export function parseTrace(text: string, ownPort: number, peer?: string): TracedSipMessage[] {
  const messages: TracedSipMessage[] = [];
  const re = /^(?:UDP|TCP|TLS) (\S+) -> (\S+)\n([\s\S]*?)(?=\n#\n|\n(?:UDP|TCP|TLS) \S+ -> \S+\n|(?![\s\S]))/gm;
  for (const m of text.matchAll(re)) {
    const [, from, to, body] = m as unknown as [string, string, string, string];
    const lines = body.split('\n');
    const firstLine = (lines[0] ?? '').trim();
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      if (line.trim() === '') break;
      const i = line.indexOf(':');
      if (i > 0) {
        const name = line.slice(0, i).trim().toLowerCase();
        if (!(name in headers)) headers[name] = line.slice(i + 1).trim();
      }
    }
    const status = /^SIP\/2\.0 (\d{3})/.exec(firstLine);
    const request = /^([A-Z]+) \S+ SIP\/2\.0$/.exec(firstLine);
    if (!status && !request) continue;
    messages.push({
      direction: (peer ? from !== peer : from.endsWith(`:${ownPort}`)) ? 'out' : 'in',
      from,
      to,
      firstLine,
      headers,
      text: body,
      method: request ? request[1]! : null,
      status: status ? Number(status[1]) : null,
    });
  }
  return messages;
}
