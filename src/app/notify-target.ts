import type { NotifyTarget, Registration } from '../ports/signalling';

/** Where a request to a registered phone goes: through the proxy's Path when one recorded it, else to the phone's source. */
export function notifyTargetOf(reg: Registration, username: string): NotifyTarget {
  // Through a proxy (Path): the proxy knows how to reach the phone, this node may never have seen it.
  if (reg.path?.length) return { uri: reg.contact, route: reg.path, username };
  return { uri: reg.contact, via: reg.source, username };
}
