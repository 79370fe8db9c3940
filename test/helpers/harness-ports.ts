import { portLayout } from './ports';

/**
 * Ports of the call harness (papgate-harness.ts), all on 127.0.0.1, laid out in one block that
 * `reserveHarnessPorts()` takes from the OS once per process (the root hook
 * in tool-report-hooks.ts calls it before any test). A SIPp process started
 * with localPort L binds L (SIP), L+1 (control), L+2.. (media); the
 * scenarios offer `[media_port+10]`, so the phone's ear listens on L+12.
 */
const HARNESS_LAYOUT = Object.freeze({ sip: 0, phone: 10, gateway: 30, phone2: 50, rtpMin: 100, rtpMax: 199 });
let harnessPorts: { [K in keyof typeof HARNESS_LAYOUT]: number } | null = null;

export async function reserveHarnessPorts(): Promise<void> {
  harnessPorts ??= await portLayout(HARNESS_LAYOUT);
}

function harnessPort(name: keyof typeof HARNESS_LAYOUT): number {
  if (!harnessPorts) throw new Error('harness ports not reserved: call reserveHarnessPorts() first');
  return harnessPorts[name];
}

export const PORTS = Object.freeze({
  get sip() {
    return harnessPort('sip');
  },
  get rtpMin() {
    return harnessPort('rtpMin');
  },
  get rtpMax() {
    return harnessPort('rtpMax');
  },
  /** The calling phone (SIPp UAC). */
  get phone() {
    return harnessPort('phone');
  },
  /** A second phone, for tests that need two SIPp processes at once. */
  get phone2() {
    return harnessPort('phone2');
  },
  /** The emergency gateway (SIPp UAS). */
  get gateway() {
    return harnessPort('gateway');
  },
});
