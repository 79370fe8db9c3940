/**
 * Binds RTP sockets on even ports of the configured range (RTCP would take
 * the odd port above), starting each search at a random port (CSPRNG): an
 * off-path sender cannot guess the next call's port from the last one.
 * Ports this engine holds are skipped without a try; ports someone else
 * holds are skipped on EADDRINUSE.
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { PapgateError } from '../../domain/errors';

export class RtpPortPool {
  private readonly inUse = new Set<number>();
  private readonly first: number;
  private readonly last: number;

  constructor(
    private readonly bindAddress: string,
    min: number,
    max: number,
  ) {
    this.first = min + (min % 2);
    this.last = max - (max % 2);
    if (!Number.isInteger(min) || !Number.isInteger(max) || this.first > this.last || min < 1 || max > 65535) {
      throw new PapgateError('invalid', `RTP port range ${min}-${max} holds no even port`, 'rtpPortMin');
    }
  }

  /** A socket bound on a free even port. Rejects with PapgateError('unavailable') when none is left. */
  async bind(): Promise<{ socket: dgram.Socket; port: number }> {
    const count = (this.last - this.first) / 2 + 1;
    const start = randomInt(count);
    for (let tried = 0; tried < count; tried++) {
      const port = this.first + 2 * ((start + tried) % count);
      if (this.inUse.has(port)) continue;
      this.inUse.add(port); // reserve before awaiting, so parallel binds do not race
      const result = await this.tryBind(port);
      if (result instanceof dgram.Socket) return { socket: result, port };
      this.inUse.delete(port);
      if (result.code !== 'EADDRINUSE' && result.code !== 'EACCES') {
        throw new PapgateError('unavailable', `cannot bind RTP on ${this.bindAddress}:${port}: ${result.message}`);
      }
    }
    throw new PapgateError('unavailable', `no free RTP port in ${this.first}-${this.last} on ${this.bindAddress} (${this.inUse.size} in use by papgate)`);
  }

  release(port: number): void {
    this.inUse.delete(port);
  }

  private tryBind(port: number): Promise<dgram.Socket | NodeJS.ErrnoException> {
    return new Promise((resolve) => {
      const socket = dgram.createSocket(isIP(this.bindAddress) === 6 ? 'udp6' : 'udp4');
      const onError = (err: NodeJS.ErrnoException) => {
        try {
          socket.close();
        } catch {
          // a socket whose bind failed may already be torn down: nothing to free
        }
        resolve(err);
      };
      socket.once('error', onError);
      socket.bind({ port, address: this.bindAddress, exclusive: true }, () => {
        socket.off('error', onError);
        resolve(socket);
      });
    });
  }
}
