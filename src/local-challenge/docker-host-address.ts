/**
 * The address at which containers on Docker's default bridge network reach this host (usually
 * 172.17.0.1). The local platform binds to it so that a workflow's engine and step containers can call
 * the platform as they would call Synapse, without exposing it on every interface.
 *
 * Where it comes from, first found wins:
 *  1. the bridge network's IPAM gateway;
 *  2. the IPv4 address of the bridge's own interface on this host (docker0): a dockerd started for the
 *     first time (Docker 20.10, Debian's docker.io) leaves the IPAM config with a Subnet and no Gateway,
 *     though docker0 already carries the address; only after a restart does the Gateway show;
 *  3. the subnet's first host address, which is what dockerd gives the bridge when none is configured.
 *
 * This holds for a Docker engine on this machine (Linux). Docker Desktop runs containers in a VM, where
 * the gateway is the VM's, not this host's.
 */
import { networkInterfaces } from 'node:os';
import Docker from 'dockerode';

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const IPV4_CIDR = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/;
const DEFAULT_BRIDGE_INTERFACE = 'docker0';

/** The parts of `docker network inspect bridge` this reads. */
export interface BridgeInspect {
  IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string }> | null } | null;
  Options?: Record<string, string> | null;
}

/** The host's interfaces, by name, with their addresses (the shape of os.networkInterfaces()). */
export type HostInterfaces = Record<string, Array<{ family: string | number; address: string }> | undefined>;

export interface BridgeAddress {
  address: string;
  /** Which rule found it, for logs and error messages. */
  source: 'IPAM gateway' | 'bridge interface' | 'subnet';
}

/** Picks the address from an inspect result and the host's interfaces; undefined when none fits. */
export function bridgeAddressFrom(
  network: BridgeInspect,
  interfaces: HostInterfaces,
): BridgeAddress | undefined {
  const configs = network.IPAM?.Config ?? [];
  const gateway = configs.map((config) => config.Gateway ?? '').find((address) => IPV4.test(address));
  if (gateway !== undefined) return { address: gateway, source: 'IPAM gateway' };

  const interfaceName = network.Options?.['com.docker.network.bridge.name'] ?? DEFAULT_BRIDGE_INTERFACE;
  const ownAddress = (interfaces[interfaceName] ?? []).find(
    (entry) => (entry.family === 'IPv4' || entry.family === 4) && IPV4.test(entry.address),
  );
  if (ownAddress !== undefined) return { address: ownAddress.address, source: 'bridge interface' };

  for (const config of configs) {
    const firstHost = firstHostOf(config.Subnet ?? '');
    if (firstHost !== undefined) return { address: firstHost, source: 'subnet' };
  }
  return undefined;
}

/** 172.17.0.0/16 → 172.17.0.1; undefined for anything that is not an IPv4 subnet with room for hosts. */
export function firstHostOf(subnet: string): string | undefined {
  const match = IPV4_CIDR.exec(subnet);
  if (match === null) return undefined;
  const octets = (match[1] ?? '').split('.').map(Number);
  const prefix = Number(match[2]);
  if (octets.some((octet) => octet > 255) || prefix > 30) return undefined;
  const value = octets.reduce((sum, octet) => sum * 256 + octet, 0);
  const size = 2 ** (32 - prefix);
  const first = value - (value % size) + 1;
  return [24, 16, 8, 0].map((shift) => Math.floor(first / 2 ** shift) % 256).join('.');
}

export async function dockerHostAddress(docker: Docker = new Docker()): Promise<string> {
  return (await dockerBridgeAddress(docker)).address;
}

/** The address, and which rule found it (see the header). */
export async function dockerBridgeAddress(docker: Docker = new Docker()): Promise<BridgeAddress> {
  let network: Docker.NetworkInspectInfo;
  try {
    network = await docker.getNetwork('bridge').inspect();
  } catch (error) {
    throw new Error(
      `Cannot find the address containers use to reach this host: inspecting Docker's "bridge" network failed (${(error as Error).message}). Is the Docker engine running, and does it have its default bridge network (dockerd started without --bridge=none)?`,
    );
  }
  const found = bridgeAddressFrom(network, networkInterfaces());
  if (found === undefined) {
    const subnets = (network.IPAM?.Config ?? []).map((config) => config.Subnet ?? '').filter((s) => s !== '');
    throw new Error(
      `Cannot find the address containers use to reach this host: Docker's "bridge" network has no IPv4 gateway, its interface has no IPv4 address here, and it has no IPv4 subnet (${subnets.join(', ') || 'none configured'}). Restart the Docker engine, or give it a bridge address (dockerd --bip).`,
    );
  }
  return found;
}
