/**
 * Starts the embedded local platform where workflow containers can reach it (Docker's bridge gateway),
 * so a workflow's own Synapse calls (download the submission, annotate a score) work as on Synapse. Its
 * object store listens on the same address (another port), so presigned URLs work from containers too.
 */
import type Docker from 'dockerode';
import { startLocalPlatform, type LocalPlatform } from '../local-platform/server.js';
import { LocalPlatformAdmin } from '../local-platform/admin-client.js';
import { dockerHostAddress } from './docker-host-address.js';

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
  const host = await dockerHostAddress(options.docker);
  let platform: LocalPlatform;
  try {
    platform = await startLocalPlatform({ dataDir: options.dataDir, host, port: options.port ?? 0 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `Port ${String(options.port)} on ${host} is already in use (is another demo still running with --keep-running?). Stop it, or choose another port with --port.`,
      );
    }
    throw error;
  }
  return { platform, admin: new LocalPlatformAdmin(platform.url, platform.adminToken), url: platform.url };
}
