// Reading `ip -o -4 addr show` for the bridges a stopped dockerd leaves behind.
import { describe, expect, it } from 'vitest';
import { parseAddrLines } from '../../../src/host/bridges.js';

describe('parseAddrLines', () => {
  it('reads names and IPv4 addresses, from iproute2 6 and from RHEL 7’s 3.10 alike', () => {
    const text = [
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
      '4: br-057137f57e1d    inet 172.28.5.1/24 brd 172.28.5.255 scope global br-057137f57e1d\\       valid_lft forever preferred_lft forever',
      '7: veth1@if6    inet 10.9.0.2/30 scope global veth1',
      '3: docker0: <NO-CARRIER> not an addr line',
    ].join('\n');
    expect(parseAddrLines(text)).toEqual([
      { name: 'lo', address: '127.0.0.1/8' },
      { name: 'br-057137f57e1d', address: '172.28.5.1/24' },
      { name: 'veth1', address: '10.9.0.2/30' },
    ]);
  });
});
