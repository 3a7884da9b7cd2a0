/**
 * The address at which containers on Docker's default bridge network reach this host: the bridge's IPv4
 * gateway (usually 172.17.0.1). The local platform binds to it so that a workflow's engine and step
 * containers can call the platform as they would call Synapse, without exposing it on every interface.
 *
 * This holds for a Docker engine on this machine (Linux). Docker Desktop runs containers in a VM, where
 * the gateway is the VM's, not this host's.
 */
import Docker from 'dockerode';

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export async function dockerHostAddress(docker: Docker = new Docker()): Promise<string> {
  let network: Docker.NetworkInspectInfo;
  try {
    network = await docker.getNetwork('bridge').inspect();
  } catch (error) {
    throw new Error(
      `Cannot find the address containers use to reach this host: inspecting Docker's "bridge" network failed (${(error as Error).message}). Is the Docker engine running, and does it have its default bridge network?`,
    );
  }
  const gateways = (network.IPAM?.Config ?? []).map((config) => config.Gateway ?? '');
  const gateway = gateways.find((address) => IPV4.test(address));
  if (gateway === undefined) {
    throw new Error(
      `Cannot find the address containers use to reach this host: Docker's "bridge" network has no IPv4 gateway (${gateways.filter((g) => g !== '').join(', ') || 'none configured'}).`,
    );
  }
  return gateway;
}
