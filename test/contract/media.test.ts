import { mediaContract } from './media.contract';
import { embeddedMediaRig, freeswitchMediaRig, threadedMediaRig } from './media-rigs';

/** One MediaEngine contract, every engine: embedded RTP on loopback (on the main thread and in its worker thread), FreeSWITCH (fsmrf) over the fakes' wire protocols. */
mediaContract('embedded RTP engine (loopback UDP)', embeddedMediaRig);
mediaContract('embedded RTP engine in its worker thread (loopback UDP)', threadedMediaRig);
mediaContract('FreeSWITCH via drachtio-fsmrf (fake FreeSWITCH and drachtio-server)', freeswitchMediaRig);
