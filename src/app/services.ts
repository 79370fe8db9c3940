import { AllowList } from './allow-list';
import { AuditLog } from './audit-log';
import { Authentication, type AttemptListener } from './authentication';
import type { AppDeps } from './deps';
import { DeviceCsv } from './device-csv';
import { Devices } from './devices';
import { Tenants } from './tenants';
import { Webhooks } from './webhooks';

/** Every admin use case, built once over the same deps (REST, CLI and web portal share them). */
export interface AdminServices {
  tenants: Tenants;
  devices: Devices;
  allowList: AllowList;
  csv: DeviceCsv;
  audit: AuditLog;
  authentication: Authentication;
  webhooks: Webhooks;
}

export function createServices(d: AppDeps, onAttempt?: AttemptListener): AdminServices {
  const tenants = new Tenants(d);
  const devices = new Devices(d, tenants);
  return {
    tenants,
    devices,
    allowList: new AllowList(d, tenants),
    csv: new DeviceCsv(d, tenants, devices),
    audit: new AuditLog(d, tenants),
    authentication: new Authentication(d, onAttempt),
    webhooks: new Webhooks(d, tenants),
  };
}
