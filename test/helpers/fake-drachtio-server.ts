import { randomUUID } from 'node:crypto';
import net from 'node:net';

/**
 * A fake drachtio-server that speaks the admin wire protocol of drachtio-srf
 * 5.x (read from drachtio-srf/lib/wire-protocol.js and drachtio-agent.js):
 * frames `<byte length>#<msgId>|<type>|...`, `authenticate|<secret>|<tags>`,
 * `route|<verb>`, `sip|<txnId>|<dialogId>[|<proxy>]\r\n<SIP>` from the app,
 * `response|<rId>|OK|...` and `sip|network|...` from the server. It delivers
 * SIP requests "from the network", records every SIP message the app sends,
 * fills in what the real server fills in (To tag, Contact, Via...), and lets
 * tests answer the app's own requests (NOTIFY, fsmrf's INVITE to FreeSWITCH).
 *
 * What the real drachtio-server v0.9.4 was seen to do, and this fake does too:
 * - a request whose method no app asked for (`route|<verb>`) is answered
 *   `503 No providers available` by the server itself and never reaches the app;
 * - a proxied INVITE with remainInDialog is relayed with a Record-Route of the
 *   server's own SIP address (the far ends must send Route on ACK/BYE);
 * - a CANCEL of a proxied INVITE is answered 200 and 487 upstream by the server
 *   itself; the app sees the 487 as the proxy's final answer.
 */

export interface SipMsg {
  method?: string;
  uri?: string;
  status?: number;
  reason?: string;
  headers: [string, string][];
  body: string;
}

export function parseSip(text: string): SipMsg {
  const split = text.indexOf('\r\n\r\n');
  const head = split >= 0 ? text.slice(0, split) : text;
  const body = split >= 0 ? text.slice(split + 4) : '';
  const [start = '', ...lines] = head.split('\r\n');
  const headers: [string, string][] = [];
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  const rs = /^SIP\/2\.0\s+(\d+)\s*(.*)$/.exec(start);
  if (rs) return { status: Number(rs[1]), reason: rs[2], headers, body };
  const [method, uri] = start.split(' ');
  return { method, uri, headers, body };
}

const COMPACT: Record<string, string> = { i: 'call-id', m: 'contact', l: 'content-length', c: 'content-type', f: 'from', t: 'to', v: 'via' };
const norm = (n: string) => COMPACT[n.toLowerCase()] ?? n.toLowerCase();

export function header(m: SipMsg, name: string): string | undefined {
  return m.headers.find(([n]) => norm(n) === norm(name))?.[1];
}

function setHeader(m: SipMsg, name: string, value: string): void {
  const i = m.headers.findIndex(([n]) => norm(n) === norm(name));
  if (i >= 0) m.headers[i] = [name, value];
  else m.headers.push([name, value]);
}

export function serializeSip(m: SipMsg): string {
  const start = m.method ? `${m.method} ${m.uri} SIP/2.0` : `SIP/2.0 ${m.status} ${m.reason ?? ''}`;
  const hs = m.headers.filter(([n]) => norm(n) !== 'content-length').map(([n, v]) => `${n}: ${v}`);
  hs.push(`Content-Length: ${Buffer.byteLength(m.body)}`);
  return `${start}\r\n${hs.join('\r\n')}\r\n\r\n${m.body}`;
}

/** One SIP message the app handed to the server. */
export interface AppSent {
  txnId: string;
  dialogId: string;
  proxy?: string;
  msg: SipMsg;
}

export interface ProxyRecord {
  txnId: string;
  destinations: string[];
  remainInDialog: boolean;
  headers: [string, string][];
}

export interface Answer {
  status: number;
  reason?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Decides the far end's answer to a request the app sent; `null` = never answer. */
export type AppRequestHandler = (req: SipMsg, ctx: { dialogId: string; txnId: string }) => Answer | null | Promise<Answer | null>;

interface Dialog {
  id: string;
  callId: string;
  /** `uas`: the network called the app; `uac`: the app called out. */
  kind: 'uas' | 'uac';
  from: string;
  to: string;
  cseq: number;
}

export interface Source {
  address: string;
  port: number;
  protocol: 'udp' | 'tcp';
}

export interface FakeDrachtioOptions {
  secret?: string;
  /** What the server reports as its SIP address. */
  sipAddress?: string;
  sipPort?: number;
}

export class FakeDrachtioServer {
  readonly sent: AppSent[] = [];
  readonly proxied: ProxyRecord[] = [];
  readonly routes: string[] = [];
  /** Answers the app's requests; by default 200 to everything but INVITE (488). */
  onAppRequest: AppRequestHandler = (req) => ({ status: req.method === 'INVITE' ? 488 : 200 });
  /** Final status the "emergency gateway" gives a proxied INVITE. */
  proxyStatus = 200;
  /** When true, a proxied INVITE rings (180) until cancelProxied() or answerProxied(). */
  holdProxies = false;
  /** Responses the server sent by itself, without the app (503 for unrouted methods, CANCEL's 200/487). */
  readonly serverResponses: { txnId: string; msg: SipMsg }[] = [];
  private readonly heldProxies = new Map<string, { socket: net.Socket; rId: string; invite: SipMsg }>();
  authentications = 0;

  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private app: net.Socket | undefined;
  private readonly dialogs = new Map<string, Dialog>();
  private readonly inviteByTxn = new Map<string, SipMsg>();
  private readonly waiters: (() => void)[] = [];
  private readonly secret: string;
  private readonly sipAddress: string;
  private readonly sipPort: number;

  constructor(o: FakeDrachtioOptions = {}) {
    this.secret = o.secret ?? 'cymru';
    this.sipAddress = o.sipAddress ?? '127.0.0.1';
    this.sipPort = o.sipPort ?? 5060;
  }

  listen(port: number, host = '127.0.0.1'): Promise<void> {
    const server = net.createServer((s) => this.onConnection(s));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  }

  /** Drops every app connection, like a server restart (the listener stays). */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.app = undefined;
    this.routes.length = 0;
  }

  async close(): Promise<void> {
    this.dropConnections();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Resolves when `check()` holds, re-checked whenever the app sends something. */
  async until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`fake drachtio: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  waitForRoutes(verbs: string[], timeoutMs = 5000): Promise<void> {
    return this.until(() => verbs.every((v) => this.routes.includes(v)), `routes ${verbs.join(',')}`, timeoutMs);
  }

  /** The app's responses in one server transaction. */
  responsesTo(txnId: string): SipMsg[] {
    return [
      ...this.sent.filter((s) => s.txnId === txnId && s.msg.status !== undefined).map((s) => s.msg),
      ...this.serverResponses.filter((s) => s.txnId === txnId).map((s) => s.msg),
    ];
  }

  async finalResponse(txnId: string, timeoutMs = 5000): Promise<SipMsg> {
    await this.until(() => this.responsesTo(txnId).some((r) => r.status! >= 200), `final response in ${txnId}`, timeoutMs);
    return this.responsesTo(txnId).find((r) => r.status! >= 200)!;
  }

  /** Requests the app sent, optionally of one method. */
  requestsFromApp(method?: string): AppSent[] {
    return this.sent.filter((s) => s.msg.method && (!method || s.msg.method === method));
  }

  async waitForAppRequest(method: string, count = 1, timeoutMs = 5000): Promise<AppSent> {
    await this.until(() => this.requestsFromApp(method).length >= count, `${method} from the app`, timeoutMs);
    return this.requestsFromApp(method)[count - 1]!;
  }

  /** Delivers a new request from the network; returns its transaction id. */
  fromNetwork(msg: SipMsg, source: Source = { address: '127.0.0.1', port: 5062, protocol: 'udp' }): string {
    const txnId = randomUUID();
    if (msg.method === 'INVITE') this.inviteByTxn.set(txnId, msg);
    const method = (msg.method ?? '').toLowerCase();
    const outOfDialog = method !== 'cancel' && method !== 'ack' && !tagOf(header(msg, 'to'));
    if (outOfDialog && !this.routes.includes(method)) {
      // drachtio-server: no app asked for this method
      this.serverResponses.push({ txnId, msg: responseTo(msg, { status: 503, reason: 'No providers available' }) });
      this.wake();
      return txnId;
    }
    this.deliver(msg, source, txnId, '');
    return txnId;
  }

  /** Dialog id the server gave the call whose INVITE came in `txnId`, once answered. */
  dialogOfTxn(txnId: string): string | undefined {
    const invite = this.inviteByTxn.get(txnId);
    if (!invite) return undefined;
    const callId = header(invite, 'call-id');
    return [...this.dialogs.values()].find((d) => d.kind === 'uas' && d.callId === callId)?.id;
  }

  /** The dialog of a Call-ID (either direction), if it is up. */
  dialogOfCallId(callId: string): string | undefined {
    return [...this.dialogs.values()].find((d) => d.callId === callId)?.id;
  }

  /** A request inside a dialog from the far end (ACK, BYE, INFO from a phone; BYE from FreeSWITCH). */
  inDialog(
    dialogId: string,
    method: string,
    extra: { headers?: Record<string, string>; body?: string } = {},
    source: Source = { address: '127.0.0.1', port: 5062, protocol: 'udp' },
  ): string {
    const d = this.dialogs.get(dialogId);
    if (!d) throw new Error(`fake drachtio: no dialog ${dialogId}`);
    const ours = d.kind === 'uas';
    const cseq = method === 'ACK' ? d.cseq : ++d.cseq;
    const msg: SipMsg = {
      method,
      uri: `sip:${this.sipAddress}:${this.sipPort}`,
      body: extra.body ?? '',
      headers: [
        ['Via', `SIP/2.0/UDP ${source.address}:${source.port};branch=z9hG4bK${randomUUID().slice(0, 8)}`],
        ['From', ours ? d.from : d.to],
        ['To', ours ? d.to : d.from],
        ['Call-ID', d.callId],
        ['CSeq', `${cseq} ${method}`],
        ['Max-Forwards', '70'],
        ...Object.entries(extra.headers ?? {}),
      ],
    };
    const txnId = randomUUID();
    if (method === 'BYE') this.dialogs.delete(dialogId);
    this.deliver(msg, source, txnId, dialogId);
    return txnId;
  }

  private deliver(msg: SipMsg, src: Source, txnId: string, dialogId: string): void {
    if (!this.app) throw new Error('fake drachtio: no app connected');
    const raw = serializeSip(msg);
    this.send(`sip|network|${Buffer.byteLength(raw)}|${src.protocol}|${src.address}|${src.port}|${now()}|${txnId}|${dialogId}|\r\n${raw}`);
  }

  private onConnection(socket: net.Socket): void {
    this.sockets.add(socket);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const hash = buf.indexOf('#');
        if (hash <= 0) return;
        const len = Number(buf.subarray(0, hash).toString());
        if (buf.length < hash + 1 + len) return;
        const frame = buf.subarray(hash + 1, hash + 1 + len).toString('utf8');
        buf = buf.subarray(hash + 1 + len);
        void this.onFrame(socket, frame);
      }
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (this.app === socket) this.app = undefined;
    });
    socket.on('error', () => undefined);
  }

  private send(body: string, socket = this.app): void {
    if (!socket || socket.destroyed) return;
    const s = `${randomUUID()}|${body}`;
    socket.write(`${Buffer.byteLength(s)}#${s}`);
  }

  private reply(socket: net.Socket, rId: string, rest: string): void {
    this.send(`response|${rId}|${rest}`, socket);
  }

  private async onFrame(socket: net.Socket, frame: string): Promise<void> {
    const crlf = frame.indexOf('\r\n');
    const leader = crlf >= 0 ? frame.slice(0, crlf) : frame;
    const rawSip = crlf >= 0 ? frame.slice(crlf + 2) : '';
    const [rId = '', type, ...t] = leader.split('|');
    if (type === 'authenticate') {
      if (t[0] !== this.secret) {
        this.reply(socket, rId, 'NOK|incorrect secret');
        socket.end();
        return;
      }
      this.authentications++;
      this.app = socket;
      this.reply(socket, rId, `OK|udp/${this.sipAddress}:${this.sipPort}|v0.9.4|`);
    } else if (type === 'route') {
      this.routes.push(t[0]!);
      this.reply(socket, rId, 'OK');
    } else if (type === 'ping') {
      this.reply(socket, rId, 'OK');
    } else if (type === 'sip') {
      await this.onAppSip(socket, rId, t[0] ?? '', t[1] ?? '', t[2], parseSip(rawSip));
    } else if (type === 'proxy') {
      this.onProxy(socket, rId, t, parseSip(rawSip));
    }
    this.wake();
  }

  private async onAppSip(socket: net.Socket, rId: string, txnId: string, dialogId: string, proxy: string | undefined, msg: SipMsg) {
    if (msg.status !== undefined) return this.onAppResponse(socket, rId, txnId, msg);
    const d = dialogId ? this.dialogs.get(dialogId) : undefined;
    if (d) {
      setHeader(msg, 'Call-ID', d.callId);
      setHeader(msg, 'From', d.kind === 'uas' ? d.to : d.from);
      setHeader(msg, 'To', d.kind === 'uas' ? d.from : d.to);
      if (msg.method !== 'ACK') setHeader(msg, 'CSeq', `${++d.cseq} ${msg.method}`);
      if (msg.method === 'BYE') this.dialogs.delete(dialogId);
    } else {
      fillNewRequest(msg, this.sipAddress, this.sipPort);
    }
    const ourTxn = randomUUID();
    this.sent.push({ txnId: ourTxn, dialogId, proxy, msg });
    this.echo(socket, rId, 'application', ourTxn, dialogId, msg);
    if (msg.method === 'ACK' || msg.method === 'CANCEL') return;
    const answer = await this.onAppRequest(msg, { dialogId, txnId: ourTxn });
    if (!answer) return;
    const res = responseTo(msg, answer);
    let resDialog = dialogId;
    if (msg.method === 'INVITE' && answer.status === 200) {
      resDialog = `${header(res, 'call-id')};from-tag=${tagOf(header(res, 'from'))}`;
      this.dialogs.set(resDialog, { id: resDialog, callId: header(res, 'call-id')!, kind: 'uac', from: header(res, 'from')!, to: header(res, 'to')!, cseq: 1 });
    }
    const raw = serializeSip(res);
    this.send(`sip|network|${Buffer.byteLength(raw)}|udp|${this.sipAddress}|${this.sipPort}|${now()}|${ourTxn}|${resDialog}|\r\n${raw}`, socket);
    this.wake();
  }

  private onAppResponse(socket: net.Socket, rId: string, txnId: string, msg: SipMsg): void {
    const invite = this.inviteByTxn.get(txnId);
    let dialogId = '';
    if (msg.status! > 100 && !tagOf(header(msg, 'to'))) setHeader(msg, 'To', `${header(msg, 'to')};tag=${randomUUID().slice(0, 8)}`);
    if (invite && msg.status! >= 200 && msg.status! < 300) {
      if (!header(msg, 'contact')) setHeader(msg, 'Contact', `<sip:${this.sipAddress}:${this.sipPort}>`);
      dialogId = `${header(msg, 'call-id')};from-tag=${tagOf(header(msg, 'from'))}`;
      this.dialogs.set(dialogId, { id: dialogId, callId: header(msg, 'call-id')!, kind: 'uas', from: header(msg, 'from')!, to: header(msg, 'to')!, cseq: 1 });
    }
    this.sent.push({ txnId, dialogId, msg });
    this.echo(socket, rId, 'application', txnId, dialogId, msg);
  }

  private onProxy(socket: net.Socket, rId: string, t: string[], msg: SipMsg): void {
    const [txnId = '', remain, , , , , , ...destinations] = t;
    const remainInDialog = remain === 'remainInDialog';
    this.proxied.push({ txnId, destinations, remainInDialog, headers: msg.headers });
    const invite = this.inviteByTxn.get(txnId);
    if (!invite) return this.reply(socket, rId, 'OK|done');
    if (this.holdProxies) {
      this.heldProxies.set(txnId, { socket, rId, invite });
      return this.relayProxyResponse(socket, rId, txnId, invite, 180, remainInDialog);
    }
    this.relayProxyResponse(socket, rId, txnId, invite, this.proxyStatus, remainInDialog);
    this.reply(socket, rId, 'OK|done');
  }

  /** The gateway answers a held proxied INVITE. */
  answerProxied(txnId: string, status = 200): void {
    const held = this.heldProxies.get(txnId);
    if (!held) throw new Error(`fake drachtio: no held proxy ${txnId}`);
    this.heldProxies.delete(txnId);
    const remain = this.proxied.find((p) => p.txnId === txnId)?.remainInDialog ?? false;
    this.relayProxyResponse(held.socket, held.rId, txnId, held.invite, status, remain);
    this.reply(held.socket, held.rId, 'OK|done');
  }

  /**
   * The phone cancels a held proxied INVITE: like drachtio-server, answer the
   * CANCEL 200 and the INVITE 487 upstream ourselves, and report 487 to the app.
   */
  cancelProxied(txnId: string): void {
    const held = this.heldProxies.get(txnId);
    if (!held) throw new Error(`fake drachtio: no held proxy ${txnId}`);
    this.heldProxies.delete(txnId);
    const cancel: SipMsg = {
      ...held.invite,
      method: 'CANCEL',
      headers: held.invite.headers.map(([n, v]) => [n, norm(n) === 'cseq' ? v.replace(/INVITE/i, 'CANCEL') : v] as [string, string]),
    };
    this.serverResponses.push({ txnId, msg: responseTo(cancel, { status: 200 }) });
    this.serverResponses.push({ txnId, msg: responseTo(held.invite, { status: 487, reason: 'Request Terminated' }) });
    this.relayProxyResponse(held.socket, held.rId, txnId, held.invite, 487, false);
    this.reply(held.socket, held.rId, 'OK|done');
    this.wake();
  }

  private relayProxyResponse(socket: net.Socket, rId: string, txnId: string, invite: SipMsg, status: number, recordRoute: boolean): void {
    const headers: Record<string, string> = {};
    if (recordRoute && status < 300) headers['Record-Route'] = `<sip:${this.sipAddress}:${this.sipPort};lr>`;
    const res = responseTo(invite, { status, headers });
    const raw = serializeSip(res);
    this.reply(socket, rId, `OK|network|${Buffer.byteLength(raw)}|udp|127.0.0.1|5070|${now()}|${txnId}||continue\r\n${raw}`);
  }

  private echo(socket: net.Socket, rId: string, source: string, txnId: string, dialogId: string, msg: SipMsg): void {
    const raw = serializeSip(msg);
    this.reply(socket, rId, `OK|${source}|${Buffer.byteLength(raw)}|udp|${this.sipAddress}|${this.sipPort}|${now()}|${txnId}|${dialogId}\r\n${raw}`);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

function now(): string {
  return new Date().toISOString().slice(11, 23);
}

export function tagOf(nameAddr: string | undefined): string | undefined {
  return nameAddr ? /;\s*tag=([^;>\s]+)/i.exec(nameAddr)?.[1] : undefined;
}

/** What drachtio-server adds to a request the app starts outside a dialog. */
function fillNewRequest(msg: SipMsg, addr: string, port: number): void {
  if (!header(msg, 'via')) msg.headers.unshift(['Via', `SIP/2.0/UDP ${addr}:${port};branch=z9hG4bK${randomUUID().slice(0, 8)}`]);
  const from = header(msg, 'from');
  if (!from) setHeader(msg, 'From', `<sip:${addr}:${port}>;tag=${randomUUID().slice(0, 8)}`);
  else if (!tagOf(from)) setHeader(msg, 'From', `${from};tag=${randomUUID().slice(0, 8)}`);
  if (!header(msg, 'to')) setHeader(msg, 'To', `<${msg.uri}>`);
  if (!header(msg, 'call-id')) setHeader(msg, 'Call-ID', randomUUID());
  if (!header(msg, 'cseq')) setHeader(msg, 'CSeq', `1 ${msg.method}`);
  if (!header(msg, 'contact')) setHeader(msg, 'Contact', `<sip:${addr}:${port}>`);
}

/** The far end's response to a request, per RFC 3261 8.2.6. */
export function responseTo(req: SipMsg, a: Answer): SipMsg {
  const to = header(req, 'to') ?? '';
  const res: SipMsg = {
    status: a.status,
    reason: a.reason ?? (a.status < 300 ? 'OK' : 'Error'),
    body: a.body ?? '',
    headers: [
      ['Via', header(req, 'via') ?? ''],
      ['From', header(req, 'from') ?? ''],
      ['To', a.status > 100 && !tagOf(to) ? `${to};tag=${randomUUID().slice(0, 8)}` : to],
      ['Call-ID', header(req, 'call-id') ?? ''],
      ['CSeq', header(req, 'cseq') ?? ''],
      ...Object.entries(a.headers ?? {}),
    ],
  };
  return res;
}

/** A request as a phone would send it, for `fromNetwork`. */
export function phoneRequest(
  method: string,
  uri: string,
  o: {
    user: string;
    callId?: string;
    cseq?: number;
    fromTag?: string;
    to?: string;
    headers?: Record<string, string>;
    body?: string;
    contactPort?: number;
  },
): SipMsg {
  const host = '127.0.0.1';
  return {
    method,
    uri,
    body: o.body ?? '',
    headers: [
      ['Via', `SIP/2.0/UDP ${host}:${o.contactPort ?? 5062};branch=z9hG4bK${randomUUID().slice(0, 8)};rport`],
      ['Max-Forwards', '70'],
      ['From', `<sip:${o.user}@${host}>;tag=${o.fromTag ?? randomUUID().slice(0, 8)}`],
      ['To', o.to ?? `<${uri}>`],
      ['Call-ID', o.callId ?? randomUUID()],
      ['CSeq', `${o.cseq ?? 1} ${method}`],
      ['Contact', `<sip:${o.user}@${host}:${o.contactPort ?? 5062}>`],
      ['User-Agent', 'Yealink SIP-T46G 28.72.0.1 00:15:65:4a:a9:37'],
      ...Object.entries(o.headers ?? {}),
    ],
  };
}
