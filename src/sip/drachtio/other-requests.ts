import type { Logger } from '../../ports/logger';
import type { SrfLike, SrfRequestLike, SrfResponseLike } from './srf-types';

/**
 * Requests besides REGISTER and INVITE. drachtio-server answers a method no
 * app has asked for with `503 No providers available`, and phones take a 503
 * as "server down": an OPTIONS keep-alive that fails makes a phone fail over
 * or re-register. So papgate asks for these too and answers them like the
 * embedded stack does. In-dialog requests never reach these handlers: srf's
 * dialog layer takes them first.
 */

/** What papgate accepts (the same list the embedded stack sends). */
export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REGISTER';

/** Methods phones send out of a dialog that papgate does not implement: 405 with Allow. */
const NOT_ALLOWED = ['message', 'subscribe', 'publish', 'refer'] as const;

type Verb = 'options' | 'info' | (typeof NOT_ALLOWED)[number];

export function answerOtherRequests(srf: SrfLike, log: Logger): void {
  const on = (verb: Verb, answer: (req: SrfRequestLike, res: SrfResponseLike) => void) => {
    srf[verb]((req, res) => {
      try {
        answer(req, res);
      } catch (err) {
        // the transaction is gone (e.g. the server dropped the connection): nothing left to answer
        log.debug({ err: err instanceof Error ? err.message : String(err), method: req.method }, 'could not answer');
      }
    });
  };
  on('options', (_req, res) =>
    res.send(200, {
      headers: { Allow: ALLOW, Accept: 'application/sdp', 'Accept-Language': 'en' },
    }),
  );
  // An INFO that matched no dialog (the dialog layer answers the others).
  on('info', (_req, res) => res.send(481));
  for (const verb of NOT_ALLOWED) on(verb, (_req, res) => res.send(405, { headers: { Allow: ALLOW } }));
}
