import type { Command } from 'commander';
import { CLI_ACTOR } from '../../app/actor';
import type { DeviceView } from '../../app/device-view';
import type { Devices } from '../../app/devices';
import { parseLineSpec } from '../../app/device-input';
import { invalid } from '../../domain/errors';
import { parseMac } from '../../domain/mac';
import { parseStateFilter } from '../rest/params';
import { collect, common, serviceAction } from './action';
import type { CliContext } from './context';
import { deviceDetails, deviceTable } from './format';

const MAC_FORMS = 'MAC: 12 hex digits, e.g. 1a2b3c4d5e6f, 1a:2b:3c:4d:5e:6f, 1A-2B-3C-4D-5E-6F or 1a2b.3c4d.5e6f';

/** `papgate device ...`. */
export function addDeviceCommands(program: Command, ctx: CliContext): void {
  const device = program.command('device').description('desk phones: add, list, show, reset, suspend, delete, lines');

  common(device.command('add'), ctx)
    .description('add a device and print its PAP (Phone Authentication PIN)')
    .requiredOption('--tenant <tenant>', 'tenant name')
    .requiredOption('--mac <mac>', MAC_FORMS)
    .requiredOption('--vendor <vendor>', 'yealink, snom, poly, cisco, linksys, gigaset, patton or panasonic')
    .requiredOption('--model <model>', 'model, e.g. T46U')
    .option('--site <site>', 'site name')
    .action(
      serviceAction(ctx, async (io, _args, o) => {
        const d = await io.services.devices.create(CLI_ACTOR, { tenant: o.tenant, mac: o.mac, vendor: o.vendor, model: o.model, site: o.site });
        io.emit(deviceDetails(d), d);
      }),
    );

  common(device.command('list'), ctx)
    .description('list the devices of a tenant')
    .requiredOption('--tenant <tenant>', 'tenant name')
    .option('--state <state>', 'only devices in this state: needed, failed, blocked or successful')
    .option('--site <site>', 'only devices of this site')
    .action(
      serviceAction(ctx, async (io, _args, o) => {
        const state = parseStateFilter(o.state as string | undefined);
        const list = await io.services.devices.list(CLI_ACTOR, o.tenant, {
          ...(o.site !== undefined ? { site: o.site } : {}),
          ...(state ? { state } : {}),
        });
        io.emit(deviceTable(list), list);
      }),
    );

  // show, reset and suspend: one MAC in, the device's details out.
  const perDevice: [string, string, (devices: Devices, mac: string) => Promise<DeviceView>][] = [
    ['show', 'show a device (state, PAP while not authenticated, SIP credentials, lines)', (d, mac) => d.show(CLI_ACTOR, mac)],
    ['reset', 'reset authentication: new PAP, counters cleared, identity secret revoked', (d, mac) => d.reset(CLI_ACTOR, mac)],
    ['suspend', 'suspend authentication: the device needs no PAP for a while (30 minutes by default)', (d, mac) => d.suspend(CLI_ACTOR, mac)],
  ];
  for (const [name, description, run] of perDevice) {
    common(device.command(name).argument('<mac>', MAC_FORMS), ctx)
      .description(description)
      .action(
        serviceAction(ctx, async (io, [mac]) => {
          const d = await run(io.services.devices, mac);
          io.emit(deviceDetails(d), d);
        }),
      );
  }

  common(device.command('delete').argument('<mac>', MAC_FORMS), ctx)
    .description('delete a device')
    .action(
      serviceAction(ctx, async (io, [mac]) => {
        await io.services.devices.delete(CLI_ACTOR, mac);
        const canonical = parseMac(mac);
        io.emit(`deleted device ${canonical}`, { deleted: canonical });
      }),
    );

  common(device.command('lines').argument('<mac>', MAC_FORMS), ctx)
    .description("replace the SIP lines of the device's full configuration")
    .option(
      '--line <spec>',
      'server=sip.example.net,user=201,password=secret[,authName=201][,displayName=Anna] (repeat for more lines; values cannot contain commas)',
      collect,
      [],
    )
    .option('--clear', 'remove all lines')
    .action(
      serviceAction(ctx, async (io, [mac], o) => {
        const specs = o.line as string[];
        if (o.clear === true && specs.length > 0) throw invalid('line', 'give either --line (one or more) or --clear, not both');
        if (o.clear !== true && specs.length === 0) throw invalid('line', 'give at least one --line server=...,user=...,password=... (or --clear)');
        const d = await io.services.devices.setLines(
          CLI_ACTOR,
          mac,
          specs.map((s, i) => parseLineSpec(s, i)),
        );
        io.emit(deviceDetails(d), d);
      }),
    );
}
