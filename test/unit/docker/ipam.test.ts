// IPAM pools as Docker defines them: a subnet without a gateway has its first address as the
// gateway (dockerd 20.10 shows it only after a restart), both when verify compares networks and
// when a resumed restore finds the network it made.
import { describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { defaultGateway, effectivePool } from '../../../src/docker/ipam.js';
import { networkDifferences } from '../../../src/docker/networks.js';
import type { NetworkRecord } from '../../../src/docker/types.js';

describe('defaultGateway', () => {
  it('is the first address of the subnet, as dockerd assigns it', () => {
    expect(defaultGateway('172.28.5.0/24')).toBe('172.28.5.1');
    expect(defaultGateway('10.1.2.3/16')).toBe('10.1.0.1');
    expect(defaultGateway('192.168.0.4/30')).toBe('192.168.0.5');
    expect(defaultGateway('2001:db8:1::/64')).toBe('2001:db8:1::1');
    expect(defaultGateway('fd00:1:2:3:4::/80')).toBe('fd00:1:2:3:4::1');
    expect(defaultGateway('2001:db8:0:1:1:1:1:0/127')).toBeUndefined();
  });

  it('gives none for what it cannot read, and never replaces a gateway that was set', () => {
    expect(defaultGateway('not a subnet')).toBeUndefined();
    expect(defaultGateway('300.1.1.0/24')).toBeUndefined();
    expect(effectivePool({ subnet: '10.0.0.0/24', gateway: '10.0.0.254' })).toEqual({ subnet: '10.0.0.0/24', gateway: '10.0.0.254' });
    expect(effectivePool({ subnet: '10.0.0.0/24', ipRange: '10.0.0.128/25' })).toEqual({ subnet: '10.0.0.0/24', gateway: '10.0.0.1', ipRange: '10.0.0.128/25' });
    expect(effectivePool({})).toEqual({});
  });
});

describe('networkDifferences (a resumed create-networks)', () => {
  const record: NetworkRecord = {
    id: 'n'.repeat(64), name: 'appnet', driver: 'bridge', scope: 'local', internal: false, attachable: false, enableIPv6: false,
    ipam: { driver: 'default', options: {}, config: [{ subnet: '172.28.5.0/24' }] }, options: {}, labels: {},
  };
  const inspect = (gateway?: string) =>
    ({
      Name: 'appnet', Id: 'm'.repeat(64), Driver: 'bridge', Internal: false, Attachable: false, EnableIPv6: false, Options: {}, Labels: {},
      IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '172.28.5.0/24', ...(gateway && { Gateway: gateway }) }] },
    }) as unknown as Docker.NetworkInspectInfo;

  it('takes the network dockerd shows with its default gateway (after a restart) as the recorded subnet-only one', () => {
    expect(networkDifferences(record, inspect())).toEqual([]);
    expect(networkDifferences(record, inspect('172.28.5.1'))).toEqual([]);
  });

  it('still names another gateway', () => {
    expect(networkDifferences(record, inspect('172.28.5.254')).join(' ')).toMatch(/IPAM pools/);
  });
});
