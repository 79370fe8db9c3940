import { strict as assert } from 'node:assert';
import { checkSyncEvent } from '../../src/domain/ivr';
import { VENDORS } from '../../src/domain/types';

describe('checkSyncEvent', () => {
  it('gives snom check-sync without reboot', () => {
    assert.equal(checkSyncEvent('snom'), 'check-sync;reboot=false');
  });

  it('gives the Sipura-heritage devices (Linksys, Cisco SPA) resync', () => {
    assert.equal(checkSyncEvent('linksys'), 'resync');
    assert.equal(checkSyncEvent('cisco'), 'resync');
  });

  it('gives Yealink, Poly, Gigaset, Patton and Panasonic plain check-sync', () => {
    for (const v of ['yealink', 'poly', 'gigaset', 'patton', 'panasonic'] as const) {
      assert.equal(checkSyncEvent(v), 'check-sync', v);
    }
  });

  it('has a value for every vendor, and plain check-sync for anything unknown', () => {
    for (const v of VENDORS) assert.match(checkSyncEvent(v), /^(check-sync(;reboot=false)?|resync)$/);
    assert.equal(checkSyncEvent('grandstream'), 'check-sync');
    assert.equal(checkSyncEvent('toString'), 'check-sync');
  });
});
