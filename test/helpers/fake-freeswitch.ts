import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { header, type AppRequestHandler, type FakeDrachtioServer, type SipMsg } from './fake-drachtio-server';

/**
 * A fake FreeSWITCH for drachtio-fsmrf 4.1.x, at its wire protocols (read from
 * fsmrf's lib/mrf.js, mediaserver.js, endpoint.js and drachtio-modesl):
 * - the inbound event socket: `auth/request`, `auth <pw>`, `event json ...`,
 *   `api sofia status` (fsmrf looks for the drachtio_mrf profile), `exit`;
 * - SIP, through a FakeDrachtioServer: fsmrf's INVITE to `sip:drachtio@<us>`
 *   with `X-esl-outbound`, answered 200 with our SDP, then BYE either way;
 * - the outbound event socket we open to X-esl-outbound: `connect` -> channel
 *   data, `sendmsg` executes (answer, playback, set, start_dtmf, hangup...)
 *   run one after the other, `api uuid_break`, and json events
 *   (CHANNEL_EXECUTE_COMPLETE, DTMF, CHANNEL_CALLSTATE).
 *
 * What the real FreeSWITCH 1.10.12 was seen to do, and this fake does too:
 * - RTP ports come from a range, two per call (RTP + RTCP; an odd end is
 *   rounded down); when none is free the INVITE gets 488, exactly like a codec
 *   mismatch ("No audio RTP ports available" in its log only);
 * - with `listenRtp`, each channel's RTP port is bound and RFC 4733 events are
 *   read with FreeSWITCH's sequence rule (switch_rtp.c): a packet counts only
 *   when its sequence number is ahead of the last one taken, unless it went
 *   back by more than 100 (a restart); a digit is reported at its end packet.
 */

export interface FsCommand {
  uuid: string;
  kind: 'execute' | 'api';
  app: string;
  arg: string;
}

interface Execute {
  app: string;
  arg: string;
  eventUuid: string;
}

interface Channel {
  uuid: string;
  callId: string;
  rtpPort: number;
  rtp?: dgram.Socket;
  socket?: net.Socket;
  running?: Execute;
  queue: Execute[];
  ended: boolean;
}

const enc = (v: string) => encodeURIComponent(v);

/** The SIP port the fake claims in its Contact and SDP (FreeSWITCH's external profile); nothing binds it. */
export const FAKE_FREESWITCH_SIP_PORT = 5080; // not bound

export class FakeFreeswitch {
  readonly commands: FsCommand[] = [];
  readonly channels = new Map<string, Channel>();
  /** How long a playback lasts by itself; undefined = until broken or completePlayback(). */
  playbackMs: number | undefined;

  private inbound: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** Digits detected on each channel's RTP port (listenRtp), by channel uuid. */
  private readonly detected = new Map<string, string[]>();
  /** INVITEs refused for want of an RTP port. */
  rtpRefusals = 0;
  private readonly rtpInUse = new Set<number>();

  constructor(
    private readonly o: {
      secret?: string;
      sipAddress?: string;
      sipPort?: number;
      profile?: string;
      /**
       * switch.conf.xml rtp-start-port / rtp-end-port (default FreeSWITCH's own,
       * 16384-32768). Only written into SDP, unless listenRtp: then pass a free range.
       */
      rtpStartPort?: number;
      rtpEndPort?: number;
      /** Bind each channel's RTP port and detect RFC 4733 digits there. */
      listenRtp?: boolean;
    } = {},
  ) {}

  /** A free RTP port pair like FreeSWITCH's allocator: even ports, start..end rounded down. */
  private allocateRtpPort(): number | undefined {
    const start = this.o.rtpStartPort ?? 16384;
    const end = this.o.rtpEndPort ?? 32768;
    for (let p = start + (start % 2); p + 1 <= end; p += 2) {
      if (!this.rtpInUse.has(p)) {
        this.rtpInUse.add(p);
        return p;
      }
    }
    return undefined;
  }

  private get sipHostport(): string {
    return `${this.o.sipAddress ?? '127.0.0.1'}:${this.o.sipPort ?? FAKE_FREESWITCH_SIP_PORT}`;
  }

  listen(port: number): Promise<void> {
    const server = net.createServer((s) => this.onInbound(s));
    this.inbound = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  }

  /** Takes the SIP that fsmrf sends through the fake drachtio-server to us. */
  attachTo(drachtio: FakeDrachtioServer): void {
    const previous = drachtio.onAppRequest;
    const mine: AppRequestHandler = (req, ctx) => {
      const callId = header(req, 'call-id') ?? '';
      const channel = [...this.channels.values()].find((c) => c.callId === callId);
      if (req.method === 'INVITE' && req.uri?.includes(this.sipHostport)) return this.onInvite(req);
      if (channel && req.method === 'BYE') {
        this.endChannel(channel, false);
        return { status: 200 };
      }
      return previous(req, ctx);
    };
    drachtio.onAppRequest = mine;
    this.drachtio = drachtio;
  }

  private drachtio: FakeDrachtioServer | undefined;

  async close(): Promise<void> {
    for (const c of this.channels.values()) {
      c.rtp?.close();
      c.rtp = undefined;
    }
    for (const s of this.sockets) s.destroy();
    const server = this.inbound;
    this.inbound = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The only channel, or the newest. */
  latestChannel(): Channel | undefined {
    return [...this.channels.values()].pop();
  }

  /** A key press FreeSWITCH detected (source: RTP for RFC 4733, INBAND_AUDIO, ENDPOINT). */
  sendDtmf(uuid: string, digit: string, source = 'RTP'): void {
    this.event(uuid, { 'Event-Name': 'DTMF', 'DTMF-Digit': digit, 'DTMF-Duration': '2000', 'DTMF-Source': source });
  }

  /** Ends the running playback as if the file had played out. */
  completePlayback(uuid: string): void {
    const c = this.channels.get(uuid);
    if (c?.running?.app === 'playback') this.finish(c, 'FILE PLAYED');
  }

  /** FreeSWITCH hangs the channel up by itself (e.g. media timeout): BYE to the app. */
  hangupChannel(uuid: string, cause = 'MEDIA_TIMEOUT'): void {
    const c = this.channels.get(uuid);
    if (!c) return;
    this.event(uuid, { 'Event-Name': 'CHANNEL_CALLSTATE', 'Channel-Call-State': 'HANGUP', 'Hangup-Cause': cause });
    this.endChannel(c, true);
  }

  detectedDigits(uuid: string): string[] {
    return this.detected.get(uuid) ?? [];
  }

  playbacks(uuid?: string): string[] {
    return this.commands.filter((c) => c.app === 'playback' && (!uuid || c.uuid === uuid)).map((c) => c.arg);
  }

  private onInvite(req: SipMsg) {
    const offer = req.body;
    const pt = /^m=audio \d+ RTP\/AVP ([\d ]+)/m.exec(offer)?.[1]?.split(' ') ?? [];
    const codec = pt.find((p) => p === '0' || p === '8');
    if (!codec) return { status: 488, reason: 'Incompatible Destination' };
    const te = /^a=rtpmap:(\d+) telephone-event\/8000/m.exec(offer)?.[1];
    const port = this.allocateRtpPort();
    if (port === undefined) {
      this.rtpRefusals++; // FreeSWITCH logs "No audio RTP ports available!" and answers like a codec mismatch
      return { status: 488, reason: 'Not Acceptable Here' };
    }
    const answer =
      `v=0\r\no=FreeSWITCH 1 2 IN IP4 127.0.0.1\r\ns=FreeSWITCH\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
      `m=audio ${port} RTP/AVP ${codec}${te ? ` ${te}` : ''}\r\na=rtpmap:${codec} ${codec === '0' ? 'PCMU' : 'PCMA'}/8000\r\n` +
      (te ? `a=rtpmap:${te} telephone-event/8000\r\na=fmtp:${te} 0-16\r\n` : '') +
      'a=ptime:20\r\n';
    const uuid = randomUUID();
    const channel: Channel = { uuid, callId: header(req, 'call-id') ?? '', rtpPort: port, queue: [], ended: false };
    this.channels.set(uuid, channel);
    if (this.o.listenRtp) this.listenRtp(channel, te ? Number(te) : undefined);
    const outbound = header(req, 'x-esl-outbound') ?? '';
    const data: Record<string, string> = {
      'Event-Name': 'CHANNEL_DATA',
      'Unique-ID': uuid,
      'Channel-Unique-ID': uuid,
      'Channel-Call-State': 'ACTIVE',
      variable_sip_user_agent: header(req, 'user-agent') ?? '',
      variable_rtp_local_sdp_str: answer,
      variable_switch_r_sdp: offer,
      variable_dtmf_type: te ? 'rfc2833' : 'none',
      variable_sip_call_id: channel.callId,
      variable_local_media_ip: '127.0.0.1',
      variable_local_media_port: String(port),
    };
    // The mrf dialplan answers, then `socket`s to X-esl-outbound.
    setImmediate(() => this.connectOutbound(channel, outbound, data));
    return { status: 200, body: answer, headers: { 'Content-Type': 'application/sdp', Contact: `<sip:drachtio@${this.sipHostport}>` } };
  }

  private connectOutbound(channel: Channel, hostport: string, data: Record<string, string>): void {
    const [host = '127.0.0.1', port = '0'] = hostport.split(':');
    const socket = net.connect({ host, port: Number(port) });
    channel.socket = socket;
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
    this.readCommands(socket, (cmd, headers) => {
      if (cmd === 'connect') {
        const hs = Object.entries(data)
          .map(([k, v]) => `${k}: ${enc(v)}`)
          .join('\n');
        return socket.write(`Content-Type: command/reply\nReply-Text: +OK\n${hs}\n\n`);
      }
      if (cmd.startsWith('sendmsg')) {
        socket.write('Content-Type: command/reply\nReply-Text: +OK\n\n');
        if (headers['call-command'] === 'execute') {
          this.enqueue(channel, { app: headers['execute-app-name'] ?? '', arg: headers['execute-app-arg'] ?? '', eventUuid: headers['Event-UUID'] ?? '' });
        }
        return;
      }
      if (cmd.startsWith('api ')) {
        const [, name = '', ...args] = cmd.split(' ');
        this.commands.push({ uuid: channel.uuid, kind: 'api', app: name, arg: args.join(' ') });
        if (name === 'uuid_break' && channel.running?.app === 'playback') this.finish(channel, 'FILE PLAYED');
        return this.apiResponse(socket, '+OK\n');
      }
      socket.write('Content-Type: command/reply\nReply-Text: +OK\n\n');
    });
  }

  private enqueue(c: Channel, e: Execute): void {
    this.commands.push({ uuid: c.uuid, kind: 'execute', app: e.app, arg: e.arg });
    c.queue.push(e);
    if (!c.running) this.runNext(c);
  }

  private runNext(c: Channel): void {
    if (c.running || c.ended) return;
    const next = c.queue.shift();
    if (!next) return;
    c.running = next;
    if (next.app === 'playback') {
      if (this.playbackMs !== undefined)
        setTimeout(() => {
          if (c.running === next) this.finish(c, 'FILE PLAYED');
        }, this.playbackMs);
      return;
    }
    if (next.app === 'hangup') {
      this.finish(c, '+OK');
      this.event(c.uuid, { 'Event-Name': 'CHANNEL_CALLSTATE', 'Channel-Call-State': 'HANGUP', 'Hangup-Cause': 'NORMAL_CLEARING' });
      return this.endChannel(c, true);
    }
    setImmediate(() => this.finish(c, '+OK'));
  }

  private finish(c: Channel, response: string): void {
    const e = c.running;
    if (!e) return;
    this.event(c.uuid, {
      'Event-Name': 'CHANNEL_EXECUTE_COMPLETE',
      Application: e.app,
      'Application-Data': e.arg,
      'Application-Response': response,
      'Application-UUID': e.eventUuid,
    });
    c.running = undefined;
    setImmediate(() => this.runNext(c));
  }

  /** The channel is over; `byeToApp` when FreeSWITCH hangs up (BYE in its dialog with the app). */
  private endChannel(c: Channel, byeToApp: boolean): void {
    if (c.ended) return;
    c.ended = true;
    this.rtpInUse.delete(c.rtpPort);
    c.rtp?.close();
    c.rtp = undefined;
    if (byeToApp && this.drachtio) {
      const dialogId = this.drachtio.dialogOfCallId(c.callId);
      if (dialogId) this.drachtio.inDialog(dialogId, 'BYE');
    }
    setImmediate(() => c.socket?.end());
  }

  /** RFC 4733 on the channel's RTP port, with FreeSWITCH's sequence rule (see the class comment). */
  private listenRtp(c: Channel, eventPt: number | undefined): void {
    const sock = dgram.createSocket('udp4');
    c.rtp = sock;
    sock.on('error', () => undefined);
    sock.bind(c.rtpPort, '127.0.0.1');
    const state = { lastSeq: 0, digitTs: 0 };
    sock.on('message', (pkt) => {
      if (pkt.length < 16 || (pkt[1]! & 0x7f) !== eventPt) return;
      const cc = pkt[0]! & 0x0f;
      const seq = pkt.readUInt16BE(2);
      const ts = pkt.readUInt32BE(4);
      const payload = pkt.subarray(12 + cc * 4);
      const key = '0123456789*#ABCD'[payload[0]!];
      const end = (payload[1]! & 0x80) !== 0;
      if (seq < state.lastSeq && state.lastSeq - seq > 100) state.lastSeq = 0;
      if (seq <= state.lastSeq || !key) return; // FreeSWITCH drops it
      state.lastSeq = seq;
      if (state.digitTs && state.digitTs !== ts) state.digitTs = 0;
      if (!end) {
        if (!state.digitTs) state.digitTs = ts;
        return;
      }
      if (state.digitTs === ts) {
        state.digitTs = 0;
        this.detected.set(c.uuid, [...this.detectedDigits(c.uuid), key]);
        this.sendDtmf(c.uuid, key, 'RTP');
      }
    });
  }

  private event(uuid: string, fields: Record<string, string>): void {
    const c = this.channels.get(uuid);
    if (!c?.socket || c.socket.destroyed) return;
    const body = JSON.stringify({ 'Unique-ID': uuid, 'Core-UUID': 'fake-core', ...fields });
    c.socket.write(`Content-Length: ${Buffer.byteLength(body)}\nContent-Type: text/event-json\n\n${body}`);
  }

  private apiResponse(socket: net.Socket, body: string): void {
    socket.write(`Content-Type: api/response\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}`);
  }

  private onInbound(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
    socket.write('Content-Type: auth/request\n\n');
    let authed = false;
    this.readCommands(socket, (cmd) => {
      if (cmd.startsWith('auth ')) {
        authed = cmd.slice(5) === (this.o.secret ?? 'ClueCon');
        if (authed) return socket.write('Content-Type: command/reply\nReply-Text: +OK accepted\n\n');
        socket.write('Content-Type: command/reply\nReply-Text: -ERR invalid\n\n');
        return socket.end();
      }
      if (!authed) return socket.end();
      if (cmd === 'exit') return socket.end('Content-Type: command/reply\nReply-Text: +OK bye\n\n');
      if (cmd === 'api sofia status') return this.apiResponse(socket, this.sofiaStatus());
      if (cmd.startsWith('api ')) return this.apiResponse(socket, '+OK\n');
      socket.write('Content-Type: command/reply\nReply-Text: +OK\n\n');
    });
  }

  private sofiaStatus(): string {
    const line = '='.repeat(90);
    return (
      `                     Name\t   Type\t                                      Data\tState\n${line}\n` +
      `            ${this.o.profile ?? 'drachtio_mrf'}\tprofile\t   sip:mod_sofia@${this.sipHostport}\tRUNNING (0)\n` +
      `${line}\n1 profile 0 aliases\n`
    );
  }

  /** Splits the stream into `\n\n`-terminated commands: first line plus `key: value` headers. */
  private readCommands(socket: net.Socket, on: (cmd: string, headers: Record<string, string>) => void): void {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
        const [first = '', ...lines] = buf.slice(0, end).split('\n');
        buf = buf.slice(end + 2);
        const headers: Record<string, string> = {};
        for (const l of lines) {
          const i = l.indexOf(': ');
          if (i > 0) headers[l.slice(0, i)] = l.slice(i + 2);
        }
        on(first.trim(), headers);
      }
    });
  }
}
