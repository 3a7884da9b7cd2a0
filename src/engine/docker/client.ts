/** The Dockerode client for DOCKER_ENGINE_URL, with the TLS certificates of DOCKER_CERT_PATH. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Dockerode from 'dockerode';

/** A Dockerode client for DOCKER_ENGINE_URL. TLS is used for https URLs, and for tcp ones with certificates. */
export function createDockerClient(url: string, certPath?: string): Dockerode {
  const match = /^(unix|tcp|http|https):\/\/(.*)$/i.exec(url);
  const scheme = match?.[1]?.toLowerCase();
  const rest = match?.[2] ?? '';
  if (scheme === 'unix') {
    if (!rest.startsWith('/')) throw new Error(`Invalid Docker engine URL ${url}: expected unix:///path`);
    return new Dockerode({ socketPath: rest });
  }
  if (scheme === undefined) {
    throw new Error(`Invalid Docker engine URL ${url}: expected unix://, tcp://, http:// or https://`);
  }
  let parsed: URL;
  try {
    parsed = new URL(`http://${rest}`);
  } catch {
    throw new Error(`Invalid Docker engine URL ${url}: cannot read the host and port`);
  }
  const tls = certPath === undefined ? undefined : readCertificates(certPath);
  const secure = scheme === 'https' || (scheme === 'tcp' && tls !== undefined);
  const port = parsed.port !== '' ? Number(parsed.port) : secure ? 2376 : 2375;
  return new Dockerode({
    host: parsed.hostname,
    port,
    protocol: secure ? 'https' : 'http',
    ...(secure ? tls : {}),
  });
}

/** cert.pem and key.pem (and ca.pem when present) from certPath; undefined when either is missing. */
function readCertificates(certPath: string): { ca?: Buffer; cert: Buffer; key: Buffer } | undefined {
  const read = (file: string): Buffer | undefined => {
    try {
      return readFileSync(join(certPath, file));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`Cannot read ${join(certPath, file)}: ${(error as Error).message}`);
    }
  };
  const cert = read('cert.pem');
  const key = read('key.pem');
  if (cert === undefined || key === undefined) return undefined;
  const ca = read('ca.pem');
  return ca === undefined ? { cert, key } : { ca, cert, key };
}
