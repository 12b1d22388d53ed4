import { describe, expect, it } from 'vitest';
import { certificateCarriesName, certificateNames } from '../../src/radius/transports/tls/identity.js';

describe('the names a RadSec client certificate carries (RFC 6614 §2.3)', () => {
  it.each([
    ['DNS subjectAltNames, ignoring the CN', { subject: { CN: 'cn.test' }, subjectaltname: 'DNS:a.test, IP Address:192.0.2.1, DNS:B.Test' }, ['a.test', 'b.test']],
    ['the subject CN when there is no DNS subjectAltName', { subject: { CN: 'Proxy1.Test.' }, subjectaltname: 'IP Address:192.0.2.1' }, ['proxy1.test']],
    ['every CN when there are several', { subject: { CN: ['one.test', 'two.test'] } }, ['one.test', 'two.test']],
    ['nothing for a certificate without either', { subject: {} }, []],
    ['a quoted DNS name as node:tls writes one with a comma', { subjectaltname: 'DNS:"odd,name.test"' }, ['odd,name.test']],
  ])('are %s', (_name, certificate, names) => {
    expect(certificateNames(certificate)).toEqual(names);
  });

  it.each([
    ['proxy1.test', true],
    ['PROXY1.test.', true],
    ['proxy2.test', false],
    ['cn.test', false],
    ['*.test', false],
  ])('certificate_name %s matches a certificate with DNS:proxy1.test and CN cn.test: %s', (name, expected) => {
    expect(certificateCarriesName({ subject: { CN: 'cn.test' }, subjectaltname: 'DNS:proxy1.test' }, name)).toBe(expected);
  });

  it('never takes a wildcard in the certificate for the configured name', () => {
    expect(certificateCarriesName({ subjectaltname: 'DNS:*.test' }, 'proxy1.test')).toBe(false);
  });
});
