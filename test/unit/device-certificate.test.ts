import { strict as assert } from 'node:assert';
import { macsInCertificate } from '../../src/domain/device-certificate';
import { decide } from '../../src/domain/provisioning-decision';

/** Reading the MAC out of a device certificate's subject CN and subjectAltName. */

const fromCn = (cn: string) => macsInCertificate({ commonNames: [cn], subjectAltName: undefined });

describe('device certificate names', () => {
  it('reads the spellings factory certificates use', () => {
    for (const cn of [
      '001565AABBCC',
      '001565aabbcc',
      '00:15:65:aa:bb:cc',
      '00-15-65-AA-BB-CC',
      '0015.65aa.bbcc',
      'SEP001565AABBCC',
      'CP-7975G-SEP001565AABBCC',
      'Yealink 001565aabbcc',
    ]) {
      assert.deepEqual(fromCn(cn), ['001565aabbcc'], cn);
    }
  });

  it('reads DNS and URI subjectAltNames but not IP addresses', () => {
    const macs = macsInCertificate({
      commonNames: ['phone'],
      subjectAltName: 'DNS:001565aabbcc.phones.example, URI:urn:dev:mac:00:15:65:aa:bb:cd, IP Address:FE80:0:0:0:215:65FF:FEAA:BBCC',
    });
    assert.deepEqual(macs, ['001565aabbcc', '001565aabbcd']);
  });

  it('does not take a MAC out of a longer hex run, an EUI-64 or a group address', () => {
    for (const cn of [
      'E001565AABBCC',
      '001565AABBCC0',
      '00:15:65:aa:bb:cc:dd',
      'aa:00:15:65:aa:bb:cc',
      '00-15-65-aa-bb-cc-dd',
      '0015.65aa.bbcc.dddd',
      'ff:ff:ff:ff:ff:ff',
      '000000000000',
      '011565aabbcc',
      'no mac here',
      'x'.repeat(5000),
    ]) {
      assert.deepEqual(fromCn(cn), [], cn);
    }
  });

  it('a certificate proof earns the full configuration like the secret, before trust and suspension', () => {
    const auth = { state: 'needed' as const, pap: '123456', failures: 0, lockouts: 0, lockedUntil: null, suspendedUntil: null };
    assert.deepEqual(decide({ auth, secretValid: false, certificateValid: true, trusted: true, now: 0 }), { config: 'full', reason: 'certificate' });
    assert.deepEqual(decide({ auth, secretValid: true, certificateValid: true, trusted: false, now: 0 }), { config: 'full', reason: 'secret' });
    assert.equal(decide({ auth, secretValid: false, certificateValid: false, trusted: false, now: 0 }).config, 'minimal');
  });
});
