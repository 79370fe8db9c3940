/** SRTP with SDES keying for the embedded media engine. */
export { SrtpReceiver, SrtpSender, TAG_BYTES, type SrtpSuite, type UnprotectResult } from './srtp-context';
export { chooseCrypto, formatCryptoAttribute, newKeyAndSalt, parseCryptoAttribute, type SdesOffer } from './sdes';
