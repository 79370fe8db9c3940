import type { NotifyTarget } from '../../ports/signalling';
import type { SipCore } from './core';
import { contactFor, newCallId, newTag, routeHeader } from './messages';
import { parseUri } from './sip-lib';
import type { SipRequest } from './sip-lib';

/**
 * Out-of-dialog NOTIFY (the check-sync that makes a phone re-provision):
 * `Subscription-State: terminated`, no body. Resolves with the final status,
 * or 0 when none arrives in time or the target cannot be reached.
 */
export async function sendNotify(core: SipCore, target: NotifyTarget, event: string, timeoutMs: number): Promise<number> {
  if (!/^[A-Za-z0-9!%*_+`'~.-]+(;[A-Za-z0-9!%*_+`'~.=-]+)*$/.test(event)) throw new Error(`invalid Event value: ${JSON.stringify(event)}`);
  const uri = parseUri(target.uri);
  if (!uri) throw new Error(`NOTIFY target is not a SIP URI: ${target.uri}`);
  const log = core.log.child({ notify: event, username: target.username });
  let peer;
  try {
    // With a route set (Path), the first hop is the proxy the phone registered through.
    peer = target.route?.length ? await core.resolve(target.route[0]!) : await core.resolve(target.uri, target.via);
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'NOTIFY target unreachable');
    return 0;
  }
  if (core.stopped) return 0;
  const rq: SipRequest = {
    method: 'NOTIFY',
    uri: target.uri,
    headers: {
      from: { uri: `sip:papgate@${core.local.host}`, params: { tag: newTag() } },
      to: { uri: `sip:${encodeURIComponent(target.username)}@${uri.host}`, params: {} },
      'call-id': newCallId(core.local.host),
      cseq: { seq: 1, method: 'NOTIFY' },
      contact: [contactFor(core.local, peer.transport)],
      event,
      'subscription-state': 'terminated',
      ...(target.route?.length ? { route: routeHeader(target.route) } : {}),
    },
    content: '',
  };
  return new Promise<number>((resolve) => {
    const settle = (status: number) => {
      clearTimeout(timer);
      removeHook();
      resolve(status);
    };
    const timer = setTimeout(() => {
      tx.shutdown();
      log.info({ peer: `${peer.address}:${peer.port}` }, 'NOTIFY got no final response');
      settle(0);
    }, timeoutMs);
    const removeHook = core.onStop(() => settle(0));
    const tx = core.sendRequest(peer, rq, (rs) => {
      if (rs.status < 200) return;
      log.info({ status: rs.status }, 'NOTIFY answered');
      settle(rs.status);
    });
  });
}
