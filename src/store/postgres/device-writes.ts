import type { PoolClient } from 'pg';
import { conflict, notFound } from '../../domain/errors';
import type { Device } from '../../domain/types';
import { run, type Queryable } from './db';
import { isForeignKey, isUnique, violatedConstraint } from './pg-errors';
import { DEVICE_COLUMNS, deviceValues, type DeviceRow } from './rows';

/** A failed device INSERT or UPDATE, kept with its device until the transaction has rolled back. */
export class DeviceWriteError {
  constructor(
    readonly cause: unknown,
    readonly device: Device,
    readonly op: 'insert' | 'update',
  ) {}
}

export async function insertDevice(client: PoolClient, d: Device): Promise<void> {
  try {
    await run(client, 'insertDevice', deviceValues(d));
  } catch (e) {
    throw new DeviceWriteError(e, d, 'insert');
  }
}

/**
 * UPDATEs only the columns that changed (an unchanged device is not written):
 * unchanged indexed columns (SIP username, tenant, site) then cost nothing.
 */
export async function updateDevice(client: PoolClient, stored: DeviceRow, d: Device): Promise<void> {
  const next = deviceValues(d);
  const sets: string[] = [];
  const values: unknown[] = [d.mac];
  DEVICE_COLUMNS.forEach((column, i) => {
    if (column === 'mac' || stored[column] === next[i]) return;
    values.push(next[i]);
    sets.push(`${column} = $${values.length}`);
  });
  if (sets.length === 0) return;
  try {
    await client.query(`UPDATE devices SET ${sets.join(', ')} WHERE mac = $1`, values);
  } catch (e) {
    throw new DeviceWriteError(e, d, 'update');
  }
}

/**
 * The PapgateError a failed device write means, worded as the SQLite store
 * words it. Runs after the rollback: its look-ups use `db` (the pool).
 */
export async function deviceWriteError(db: Queryable, w: DeviceWriteError, tenantName: (id: number) => Promise<string>): Promise<unknown> {
  const { cause: e, device: d } = w;
  const usernameTaken = isUnique(e, 'devices_sip_username_key');
  const macTaken = isUnique(e, 'devices_pkey') || (w.op === 'insert' && usernameTaken && (await run(db, 'deviceByMac', [d.mac])).rowCount > 0);
  if (macTaken) return conflict(`a device with MAC ${d.mac} already exists`, 'mac');
  if (usernameTaken) return conflict(`SIP username ${d.sipUsername} is already used by another device`, 'sipUsername');
  if (isForeignKey(e)) {
    if ((await run(db, 'tenantById', [d.tenantId])).rowCount === 0) return noTenant(d.tenantId);
    if (violatedConstraint(e, 'foreign_key') === 'devices_site_fkey') {
      return notFound(`${await tenantName(d.tenantId)} has no site with id ${d.siteId}`);
    }
  }
  return e;
}

export function noTenant(id: number) {
  return notFound(`there is no tenant with id ${id}`);
}
