import type { SipEndpointAddress } from '../../ports/signalling';
import type { SipResponse } from './sip-lib';

/**
 * RFC 3261 13.3.1.4: the UAS core, not the transaction, retransmits a 2xx to
 * INVITE until the ACK arrives: after T1, doubling up to T2, giving up after
 * 64*T1. The `sip` package leaves this to the application.
 */
export class Retransmit2xx {
  private timer: NodeJS.Timeout | undefined;
  private readonly deadline: NodeJS.Timeout;
  private interval: number;

  constructor(
    private readonly send: (peer: SipEndpointAddress, rs: SipResponse) => void,
    private readonly peer: SipEndpointAddress,
    private readonly rs: SipResponse,
    private readonly t1Ms: number,
    onGiveUp: () => void,
  ) {
    this.interval = t1Ms;
    this.deadline = setTimeout(() => {
      this.stop();
      onGiveUp();
    }, 64 * t1Ms);
    // Over TCP the transport is reliable: no retransmission, only the deadline.
    if (peer.transport === 'udp') this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    clearTimeout(this.deadline);
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.send(this.peer, this.rs);
      this.interval = Math.min(this.interval * 2, 8 * this.t1Ms);
      this.schedule();
    }, this.interval);
  }
}
