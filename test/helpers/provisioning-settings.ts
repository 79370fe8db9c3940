import type { ProvisioningSettings } from '../../src/app/provisioning';

/** Provisioning settings for tests that build `Provisioning` themselves: papgate's defaults, test host names. */
export const TEST_PROVISIONING_SETTINGS: ProvisioningSettings = {
  publicUrl: 'http://prov.test',
  sip: { server: 'sip.papgate.test', port: 5060, transport: 'udp' },
  emergencyNumbers: ['112'],
  hotline: '*89',
  minimalResyncSeconds: 300,
  fullResyncSeconds: 14400,
};
