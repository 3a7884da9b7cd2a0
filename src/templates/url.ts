/** How template URLs are shown: never with credentials, a query string (presigned signatures) or a fragment. */

/** The URL without user info, query string or fragment; something URL-like when it does not parse. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return url.replace(/[?#].*$/s, '').replace(/\/\/[^/@]*@/, '//');
  }
}

/** The URL's path, decoded where possible (for extension checks and TRS detection). */
export function urlPath(url: string): string {
  try {
    const path = new URL(url).pathname;
    try {
      return decodeURIComponent(path);
    } catch {
      return path;
    }
  } catch {
    return displayUrl(url);
  }
}
