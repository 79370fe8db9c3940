import type { Vendor } from '../../domain/types';
import type { CommonFile, DeviceFile } from '../routes';
import { ciscoSpa, spaCommon } from './cisco-spa';
import { gigaset } from './gigaset';
import { panasonic } from './panasonic';
import { patton } from './patton';
import { poly, polyCommonMaster, polyMaster } from './poly';
import { snom } from './snom';
import type { FullConfig, MinimalConfig, VendorTemplate } from './types';
import { yealink, yealinkCommon } from './yealink';

export type { VendorTemplate } from './types';

/** Every vendor of the domain has a template; Linksys speaks Cisco SPA's format. */
export const TEMPLATES: Readonly<Record<Vendor, VendorTemplate>> = Object.freeze({
  yealink,
  snom,
  poly,
  cisco: ciscoSpa,
  linksys: ciscoSpa,
  gigaset,
  patton,
  panasonic,
});

export interface RenderedFile {
  contentType: string;
  body: string;
}

/** The file a known device asked for, in its vendor's format. */
export function renderDeviceFile(file: DeviceFile, cfg: MinimalConfig | FullConfig): RenderedFile {
  const vendor = cfg.device.vendor;
  if (vendor === 'poly' && file === 'mac.cfg') {
    return { contentType: poly.contentType, body: polyMaster(cfg.device.mac) };
  }
  const t = TEMPLATES[vendor];
  return { contentType: t.contentType, body: cfg.kind === 'full' ? t.full(cfg) : t.minimal(cfg) };
}

/** A vendor-wide file: no device data in it. */
export function renderCommonFile(file: CommonFile): RenderedFile {
  switch (file) {
    case 'yealink-model.cfg':
      return { contentType: yealink.contentType, body: yealinkCommon() };
    case 'poly-master.cfg':
      return { contentType: poly.contentType, body: polyCommonMaster() };
    case 'spa-model.cfg':
      return { contentType: ciscoSpa.contentType, body: spaCommon() };
  }
}
