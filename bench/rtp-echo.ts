/**
 * The phones of `bench/rtp.ts`, in a process of their own: COUNT UDP sockets
 * on even ports from BASE, each sending back every datagram it gets (as SIPp's
 * -rtp_echo does). Tells the parent 'ready' once all are bound.
 */
import dgram from 'node:dgram';

const [base, count] = process.argv.slice(2).map(Number) as [number, number];
let bound = 0;
for (let i = 0; i < count; i++) {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, from) => socket.send(msg, from.port, from.address));
  socket.bind(base + 2 * i, '127.0.0.1', () => {
    if (++bound === count) process.send?.('ready');
  });
}
