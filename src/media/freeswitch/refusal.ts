/**
 * Why FreeSWITCH refused the INVITE fsmrf sent for a call, in papgate's words.
 * FreeSWITCH answers 488 both for "no codec in common" and for "No audio RTP
 * ports available" (its RTP range is used up), and 503 when max-sessions is
 * reached. papgate's profile speaks PCMU and PCMA (vars.xml
 * global_codec_prefs), so a 488 for an offer that has either cannot be a
 * codec problem: it is capacity, and the phone must hear 503, not 488.
 */
export type MediaRefusal = 'no-common-codec' | 'no-rtp-ports' | 'busy' | 'error';

export function classifyRefusal(status: number | undefined, offerSdp: string): MediaRefusal {
  if (status === 488 || status === 415 || status === 606) return offersG711(offerSdp) ? 'no-rtp-ports' : 'no-common-codec';
  if (status === 503 || status === 486 || status === 480) return 'busy';
  return 'error';
}

/** True when the audio stream of the offer lists PCMU or PCMA (static type 0/8 or by rtpmap name). */
export function offersG711(sdp: string): boolean {
  const audio = /^m=audio\s+\d+(?:\/\d+)?\s+\S+\s+([\d ]+)\s*$/m.exec(sdp);
  if (!audio) return false;
  const types = audio[1]!.trim().split(/\s+/);
  if (types.includes('0') || types.includes('8')) return true;
  return types.some((pt) => new RegExp(`^a=rtpmap:${pt}\\s+(PCMU|PCMA)/8000`, 'im').test(sdp));
}
