import { strict as assert } from 'node:assert';
import { PORTS, startPapgateHarness, type PapgateHarness } from '../helpers/papgate-harness';
import { RawPhone } from '../helpers/raw-sip-phone';

/**
 * IVR-call floods: every call to the hotline opens a media session and may
 * burn a device's guesses, so new calls are rationed per source and per
 * device. 127.0.0.1 is the attacker, 127.0.0.2 another site.
 */

describe('attack: IVR-call flood', function () {
  this.timeout(120_000);
  let h: PapgateHarness;
  let attacker: RawPhone;
  let other: RawPhone;

  before(async () => {
    h = await startPapgateHarness({
      gatewayPort: null,
      env: { PAPGATE_LIMIT_IVR_CALLS_PER_DEVICE_PER_MINUTE: '2', PAPGATE_LIMIT_IVR_CALLS_PER_MINUTE: '3' },
    });
    attacker = await RawPhone.open('127.0.0.1', PORTS.sip, h.config.sipRealm);
    other = await RawPhone.open('127.0.0.2', PORTS.sip, h.config.sipRealm);
  });

  after(async () => {
    await attacker?.close();
    await other?.close();
    await h?.stop();
  });

  async function refusals(limit: string): Promise<number> {
    const m = await h.instance.metrics.rateLimited.get();
    return m.values.find((v) => v.labels.limit === limit)?.value ?? 0;
  }

  it('refuses new calls past the per-device (486) and per-source (503) budgets, spares other sources, refills with time', async () => {
    const a = await h.addDevice();
    const b = await h.addDevice();
    const c = await h.addDevice();
    const hotline = h.config.hotline;
    assert.equal(await attacker.call(a, hotline), 200);
    assert.equal(await attacker.call(a, hotline), 200);
    assert.equal(await attacker.call(a, hotline), 486, 'third call of one device within a minute');
    assert.equal(await attacker.call(a, hotline), 486);
    assert.equal(await attacker.call(b, hotline), 200, 'refused calls did not spend the source budget');
    assert.equal(await attacker.call(c, hotline), 503, 'fourth call from one source within a minute');
    assert.equal(await other.call(c, hotline), 200, 'another source is not affected (and the refused call cost the device nothing)');
    assert.equal(await refusals('ivr_calls_device'), 2);
    assert.equal(await refusals('ivr_calls_source'), 1);
    assert.equal((await h.attempts(a.mac)).length, 0, 'refused calls never reached the PIN check');

    h.clock.advance(60_000);
    assert.equal(await attacker.call(a, hotline), 200, 'the budget refills');
  });
});
