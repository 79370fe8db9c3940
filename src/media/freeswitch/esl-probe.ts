import net from 'node:net';

export type EslProbeOutcome = 'ready' | 'refused' | 'no-profile' | 'unreachable';

export interface EslProbeResult {
  outcome: EslProbeOutcome;
  /** Our address on the path to FreeSWITCH: one it can reach us back on. */
  localAddress: string | undefined;
}

/**
 * Logs in to FreeSWITCH's event socket, asks `sofia status`, and logs out.
 * fsmrf's own connect never settles when the password or the ACL is wrong
 * (and leaves a connection behind that keeps retrying), and throws from an
 * event callback, crashing the process, when the sofia profile is missing;
 * probing first lets us report each case and hand fsmrf only a FreeSWITCH
 * that will work.
 */
export function probeEventSocket(o: { host: string; port: number; secret: string; profile: string; timeoutMs: number }): Promise<EslProbeResult> {
  return new Promise((resolve) => {
    let text = '';
    let done = false;
    let step: 'auth' | 'status' | 'wait' = 'wait';
    const socket = net.connect({ host: o.host, port: o.port });
    const finish = (outcome: EslProbeOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const localAddress = socket.localAddress;
      if (outcome === 'unreachable') socket.destroy();
      else socket.end('exit\n\n');
      resolve({ outcome, localAddress });
    };
    const timer = setTimeout(() => finish('unreachable'), o.timeoutMs);
    socket.setEncoding('utf8');
    socket.on('error', () => finish('unreachable'));
    socket.on('close', () => finish('unreachable'));
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > 262_144) return finish('unreachable');
      if (/Content-Type: text\/rude-rejection/i.test(text)) return finish('refused');
      if (step === 'wait' && /Content-Type: auth\/request\n\n/i.test(text)) {
        step = 'auth';
        text = '';
        socket.write(`auth ${o.secret}\n\n`);
      } else if (step === 'auth' && /Reply-Text: (\S+)/i.test(text)) {
        if (!/Reply-Text: \+OK/i.test(text)) return finish('refused');
        step = 'status';
        text = '';
        socket.write('api sofia status\n\n');
      } else if (step === 'status') {
        const body = apiBody(text);
        if (body === undefined) return;
        const profile = new RegExp(`^\\s*${o.profile}\\s.*sip:mod_sofia@(?:\\d{1,3}\\.){3}\\d{1,3}:\\d+`, 'm');
        finish(profile.test(body) ? 'ready' : 'no-profile');
      }
    });
  });
}

/** The body of a complete `api/response`, or undefined while it is still arriving. */
function apiBody(text: string): string | undefined {
  for (let at = 0; at < text.length;) {
    const end = text.indexOf('\n\n', at);
    if (end < 0) return undefined;
    const head = text.slice(at, end);
    const length = Number(/^Content-Length: (\d+)$/im.exec(head)?.[1] ?? 0);
    const bytes = Buffer.from(text.slice(end + 2), 'utf8');
    if (bytes.length < length) return undefined;
    if (/^Content-Type: api\/response$/im.test(head)) return bytes.subarray(0, length).toString('utf8');
    at = end + 2 + bytes.subarray(0, length).toString('utf8').length;
  }
  return undefined;
}
