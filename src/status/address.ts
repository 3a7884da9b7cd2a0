/**
 * Where the status server listens and where a client on the same machine reaches it. A server bound to
 * every address (0.0.0.0, ::) is reached through the loopback: that is what the image's HEALTHCHECK and
 * `status` inside the container use.
 */

export interface StatusServerSettings {
  port: number;
  bindAddress: string;
}

/** The address a local client connects to for a server bound to `bindAddress`. */
export function connectHost(bindAddress: string): string {
  if (bindAddress === '0.0.0.0' || bindAddress === '') return '127.0.0.1';
  if (bindAddress === '::' || bindAddress === '[::]') return '::1';
  return bindAddress;
}

/** http://host:port, with an IPv6 host in brackets. */
export function httpUrl(host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return `http://${bare.includes(':') ? `[${bare}]` : bare}:${port}`;
}

/** The base URL a local client uses for the configured status server. */
export function statusUrl(settings: StatusServerSettings): string {
  return httpUrl(connectHost(settings.bindAddress), settings.port);
}
