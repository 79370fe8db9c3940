import { mediaContract } from './media.contract';
import { embeddedMediaRig, freeswitchMediaRig } from './media-rigs';

/** One MediaEngine contract, both engines: embedded RTP on loopback, FreeSWITCH (fsmrf) over the fakes' wire protocols. */
mediaContract('embedded RTP engine (loopback UDP)', embeddedMediaRig);
mediaContract('FreeSWITCH via drachtio-fsmrf (fake FreeSWITCH and drachtio-server)', freeswitchMediaRig);
