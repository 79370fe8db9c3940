import { signallingContract } from './signalling.contract';
import { drachtioRig } from './signalling-drachtio-rig';
import { embeddedRig } from './signalling-embedded-rig';

/** One Signalling contract, both stacks: embedded over real UDP, drachtio-srf over the drachtio-server wire protocol. */
signallingContract('embedded SIP stack (UDP on loopback)', embeddedRig);
signallingContract('drachtio-srf (fake drachtio-server on the wire)', drachtioRig);
