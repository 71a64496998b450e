// NetworkPolicy defaulting and validation: kube-apiserver's field paths and texts.
import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../../../src/k8s/defaults.js';
import type { NetworkPolicy } from '../../../src/k8s/networkpolicy-types.js';
import { invalidMessage, validateObject } from '../../../src/k8s/validate.js';

const np = (spec: object): NetworkPolicy =>
  applyDefaults({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'p', namespace: 'x' },
    spec,
  } as NetworkPolicy);

const message = (spec: object): string => {
  const causes = validateObject(np(spec));
  return causes.length ? invalidMessage('NetworkPolicy.networking.k8s.io', 'p', causes) : '';
};

describe('NetworkPolicy defaults', () => {
  it('policyTypes: Ingress, plus Egress when egress rules exist; ports default to TCP', () => {
    expect(np({ podSelector: {} }).spec.policyTypes).toEqual(['Ingress']);
    const e = np({ podSelector: {}, egress: [{ ports: [{ port: 53 }] }] });
    expect(e.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(e.spec.egress?.[0].ports?.[0].protocol).toBe('TCP');
    expect(np({ podSelector: {}, policyTypes: ['Egress'] }).spec.policyTypes).toEqual(['Egress']);
  });
});

describe('NetworkPolicy validation', () => {
  it('accepts a full policy', () => {
    expect(
      message({
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [
          {
            from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }, { namespaceSelector: {} }],
            ports: [{ port: 80, endPort: 90 }, { port: 'http' }, { protocol: 'UDP' }],
          },
        ],
      }),
    ).toBe('');
  });

  it('a bad CIDR', () => {
    expect(message({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] })).toBe(
      'NetworkPolicy.networking.k8s.io "p" is invalid: spec.ingress[0].from[0].ipBlock.cidr: Invalid value: ' +
        '"10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
    );
  });

  it('except outside cidr', () => {
    expect(
      message({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.2.0.0/24'] } }] }] }),
    ).toBe(
      'NetworkPolicy.networking.k8s.io "p" is invalid: spec.egress[0].to[0].ipBlock.except[0]: Invalid value: ' +
        '"10.2.0.0/24": must be a strict subset of `cidr`',
    );
  });

  it('endPort below port, or with a named port', () => {
    expect(message({ podSelector: {}, ingress: [{ ports: [{ port: 81, endPort: 80 }] }] })).toBe(
      'NetworkPolicy.networking.k8s.io "p" is invalid: spec.ingress[0].ports[0].endPort: Invalid value: 80: ' +
        'must be greater than or equal to `port`',
    );
    expect(message({ podSelector: {}, ingress: [{ ports: [{ port: 'http', endPort: 90 }] }] })).toContain(
      'spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric',
    );
  });

  it('an unknown policyType', () => {
    expect(message({ podSelector: {}, policyTypes: ['Sideways'] })).toBe(
      'NetworkPolicy.networking.k8s.io "p" is invalid: spec.policyTypes[0]: Unsupported value: "Sideways": ' +
        'supported values: "Ingress", "Egress"',
    );
  });

  it('SCTP is refused with a clear message', () => {
    expect(message({ podSelector: {}, ingress: [{ ports: [{ protocol: 'SCTP', port: 9 }] }] })).toContain(
      'spec.ingress[0].ports[0].protocol: Unsupported value: "SCTP": supported values: "TCP", "UDP" ' +
        '(this lab does not enforce SCTP policies)',
    );
  });
});
