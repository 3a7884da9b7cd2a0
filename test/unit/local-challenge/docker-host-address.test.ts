/**
 * Where the local platform listens so that workflow containers reach it, on every shape Docker's
 * "bridge" network inspect takes: warm engines (IPAM gateway), a dockerd's very first start (subnet, no
 * gateway, docker0 already up), and an engine whose bridge interface cannot be read here.
 */
import { describe, expect, it } from 'vitest';
import {
  bridgeAddressFrom,
  firstHostOf,
  type BridgeInspect,
  type HostInterfaces,
} from '../../../src/local-challenge/docker-host-address.js';

const docker0: HostInterfaces = {
  lo: [{ family: 'IPv4', address: '127.0.0.1' }],
  docker0: [
    { family: 'IPv6', address: 'fe80::42:acff:fe11:1' },
    { family: 'IPv4', address: '172.17.0.1' },
  ],
};

describe('bridgeAddressFrom', () => {
  it('uses the IPAM gateway when the engine reports one (an engine that has been restarted)', () => {
    const network: BridgeInspect = {
      IPAM: { Config: [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }] },
      Options: { 'com.docker.network.bridge.name': 'docker0' },
    };
    expect(bridgeAddressFrom(network, docker0)).toEqual({ address: '172.18.0.1', source: 'IPAM gateway' });
  });

  it('skips an IPv6 gateway and uses the IPv4 one', () => {
    const network: BridgeInspect = {
      IPAM: {
        Config: [
          { Subnet: 'fd00::/64', Gateway: 'fd00::1' },
          { Subnet: '10.9.0.0/24', Gateway: '10.9.0.1' },
        ],
      },
    };
    expect(bridgeAddressFrom(network, {})?.address).toBe('10.9.0.1');
  });

  it("first start of a new dockerd: a subnet and no gateway, docker0 carries the address → docker0's address", () => {
    const network: BridgeInspect = {
      IPAM: { Config: [{ Subnet: '172.17.0.0/16' }] },
      Options: {
        'com.docker.network.bridge.name': 'docker0',
        'com.docker.network.bridge.default_bridge': 'true',
      },
    };
    expect(bridgeAddressFrom(network, docker0)).toEqual({
      address: '172.17.0.1',
      source: 'bridge interface',
    });
  });

  it('reads the interface the bridge names (dockerd -b br-ci), not docker0', () => {
    const network: BridgeInspect = {
      IPAM: { Config: [{ Subnet: '10.20.0.0/16', Gateway: '' }] },
      Options: { 'com.docker.network.bridge.name': 'br-ci' },
    };
    const interfaces: HostInterfaces = { ...docker0, 'br-ci': [{ family: 4, address: '10.20.0.254' }] };
    expect(bridgeAddressFrom(network, interfaces)).toEqual({
      address: '10.20.0.254',
      source: 'bridge interface',
    });
  });

  it("no gateway and no interface visible here (another network namespace) → the subnet's first host", () => {
    const network: BridgeInspect = { IPAM: { Config: [{ Subnet: '192.168.112.0/20' }] }, Options: null };
    expect(bridgeAddressFrom(network, { lo: docker0.lo })).toEqual({
      address: '192.168.112.1',
      source: 'subnet',
    });
  });

  it('nothing to go on (no IPAM config, no interface) → undefined, so the caller can say what to fix', () => {
    expect(bridgeAddressFrom({ IPAM: { Config: [] } }, {})).toBeUndefined();
    expect(bridgeAddressFrom({ IPAM: null }, {})).toBeUndefined();
    expect(bridgeAddressFrom({}, { docker0: [{ family: 'IPv6', address: 'fe80::1' }] })).toBeUndefined();
  });
});

describe('firstHostOf', () => {
  it.each([
    ['172.17.0.0/16', '172.17.0.1'],
    ['172.17.5.9/16', '172.17.0.1'],
    ['10.0.0.0/8', '10.0.0.1'],
    ['192.168.1.128/25', '192.168.1.129'],
    ['10.1.2.4/30', '10.1.2.5'],
  ])('%s → %s', (subnet, host) => {
    expect(firstHostOf(subnet)).toBe(host);
  });

  it.each(['', 'fd00::/64', '172.17.0.0', '300.1.1.0/24', '10.0.0.0/31', '10.0.0.0/32'])(
    '%j → undefined',
    (subnet) => {
      expect(firstHostOf(subnet)).toBeUndefined();
    },
  );
});
