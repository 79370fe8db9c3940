import { SipGate } from '../../src/app/sip-gate';
import type { SourceLimits } from '../../src/app/source-limits';
import type { Clock } from '../../src/ports/clock';
import { systemClock } from '../../src/ports/clock';
import { silentLogger, type Logger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import type { CallEndReason, CallHandler, InboundCall, SipAccount } from '../../src/ports/signalling';
import { EmbeddedSignalling } from '../../src/sip/embedded';
import type { EmbeddedSignallingOptions } from '../../src/sip/embedded/embedded-signalling';

/**
 * A real EmbeddedSignalling on loopback with a real SipGate over an in-memory
 * account list: the harness of the sip-* integration tests. The call handler
 * here is test scaffolding (it answers with a fixed SDP), not the thing tested.
 */

export const ACCOUNTS: readonly SipAccount[] = [
  { username: 'dev1', password: 'pw-dev1-Secret', mac: '001565aabbcc', tenantId: 1 },
  { username: 'dev2', password: 'pw-dev2-Secret', mac: '001565aabbcd', tenantId: 1 },
];
export const REALM = 'papgate.test';

export const ANSWER_SDP = [
  'v=0',
  'o=papgate 1 1 IN IP4 127.0.0.1',
  's=papgate',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 15999 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=sendrecv',
  '',
].join('\r\n');

/** What the harness saw of one call. */
export interface SeenCall {
  call: InboundCall;
  digits: string[];
  ended: Promise<CallEndReason>;
  /** Settles when answer() does (resolved on ACK); undefined when the call was not answered. */
  answered?: Promise<void>;
}

export interface HarnessOptions {
  port: number;
  udp?: boolean;
  tcp?: boolean;
  clock?: Clock;
  t1Ms?: number;
  nonceTtlMs?: number;
  notifyTimeoutMs?: number;
  forwardNoResponseMs?: number;
  minExpires?: number;
  maxExpires?: number;
  /** Per-source request limits (none: unlimited). */
  limits?: SourceLimits;
  /** Listen address (default 127.0.0.1). */
  address?: string;
  tcpLimits?: EmbeddedSignallingOptions['tcpLimits'];
  /** SIP over TLS listener (port 0: any free one, read back from sig.tlsPort). */
  tls?: EmbeddedSignallingOptions['tls'];
  log?: Logger;
  /** SIP proxies whose Vias tell the phone's address. */
  trustedProxies?: string[];
  /** What to do with a call; by default dialled numbers starting with 9 ring forever, the rest are answered. */
  onCall?(seen: SeenCall): void;
}

export interface Harness {
  sig: EmbeddedSignalling;
  gate: SipGate;
  calls: SeenCall[];
  /** Resolves with the n-th call (1-based) once it arrives (bounded). */
  nthCall(n: number, timeoutMs?: number): Promise<SeenCall>;
  stop(): Promise<void>;
}

export async function startHarness(o: HarnessOptions): Promise<Harness> {
  const clock = o.clock ?? systemClock;
  const gate = new SipGate({
    realm: REALM,
    emergencyNumbers: ['112', '110', '911', '999'],
    nonceTtlMs: o.nonceTtlMs ?? 30_000,
    lookupAccount: async (u) => ACCOUNTS.find((a) => a.username === u) ?? null,
    clock,
    random: cryptoRandom,
  });
  const sig = new EmbeddedSignalling({
    address: o.address ?? '127.0.0.1',
    port: o.port,
    udp: o.udp ?? true,
    tcp: o.tcp ?? false,
    gate,
    log: o.log ?? silentLogger,
    clock,
    t1Ms: o.t1Ms,
    notifyTimeoutMs: o.notifyTimeoutMs,
    forwardNoResponseMs: o.forwardNoResponseMs,
    minExpires: o.minExpires,
    maxExpires: o.maxExpires,
    limits: o.limits,
    tcpLimits: o.tcpLimits,
    tls: o.tls,
    trustedProxies: o.trustedProxies,
  });
  const calls: SeenCall[] = [];
  const handler: CallHandler = {
    async handle(call) {
      const digits: string[] = [];
      call.on('dtmf', (d) => digits.push(d));
      const ended = new Promise<CallEndReason>((resolve) => call.on('ended', resolve));
      const seen: SeenCall = { call, digits, ended };
      calls.push(seen);
      if (o.onCall) return o.onCall(seen);
      if (!call.dialled.startsWith('9')) {
        seen.answered = call.answer(ANSWER_SDP);
        seen.answered.catch(() => undefined); // tests that care await it themselves
      }
    },
  };
  await sig.start(handler);
  return {
    sig,
    gate,
    calls,
    async nthCall(n, timeoutMs = 5000) {
      for (let waited = 0; calls.length < n; waited += 20) {
        if (waited > timeoutMs) throw new Error(`call #${n} did not arrive within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return calls[n - 1]!;
    },
    stop: () => sig.stop(),
  };
}

/** A Clock the test moves by hand. */
export class FakeClock implements Clock {
  constructor(private t = Date.UTC(2025, 0, 1)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
