/**
 * Starts the embedded local platform where workflow containers can reach it (Docker's bridge gateway),
 * so a workflow's own Synapse calls (download the submission, annotate a score) work as on Synapse. Its
 * object store listens on the same address (another port), so presigned URLs work from containers too.
 */
import type Docker from 'dockerode';
import { startLocalPlatform, type LocalPlatform } from '../local-platform/server.js';
import { LocalPlatformAdmin } from '../local-platform/admin-client.js';
import { dockerBridgeAddress } from './docker-host-address.js';

export interface ReachablePlatform {
  platform: LocalPlatform;
  admin: LocalPlatformAdmin;
  url: string;
}

export async function startReachablePlatform(options: {
  dataDir: string;
  port?: number;
  /** The engine that runs the workflows (its bridge is where they reach the platform from). */
  docker: Docker;
}): Promise<ReachablePlatform> {
  const bridge = await dockerBridgeAddress(options.docker);
  const host = bridge.address;
  const port = options.port ?? 0;
  let platform: LocalPlatform;
  try {
    // A fixed port gets its object store on the next one, so both stay the same across restarts.
    platform = await startLocalPlatform({
      dataDir: options.dataDir,
      host,
      port,
      objectStorePort: port === 0 ? 0 : port + 1,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new Error(
        `Port ${String(port)} or ${String(port + 1)} (its object store) on ${host} is already in use (is another demo still running with --keep-running?). Stop it, or choose another port with --port.`,
      );
    }
    if (code === 'EADDRNOTAVAIL') {
      throw new Error(
        `Cannot listen on ${host}, the address containers use to reach this host (taken from Docker's bridge ${bridge.source}): no interface here has it. Is the Docker engine on this machine (not in a VM or on another host)? Restarting it, or giving it a bridge address (dockerd --bip), usually helps.`,
      );
    }
    throw error;
  }
  return { platform, admin: new LocalPlatformAdmin(platform.url, platform.adminToken), url: platform.url };
}
