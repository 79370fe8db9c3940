import type { FullConfig, MinimalConfig } from '../../app/provisioning';

/** One vendor's configuration format: both configurations of section 7 of docs/behaviour.md, as pure functions. */
export interface VendorTemplate {
  /** Content-Type of the files this vendor fetches. */
  readonly contentType: string;
  /** Only papgate's SIP account, emergency numbers, hot-line, short resync and the label. */
  minimal(cfg: MinimalConfig): string;
  /** The device's real lines and the per-device provisioning URL; no label. */
  full(cfg: FullConfig): string;
}

export type { FullConfig, MinimalConfig };
