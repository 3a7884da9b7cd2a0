/** Hostile inputs shared by the test/e2e/hostile suites. */

/** What nginx answers when the server behind it is down: the page a proxy puts before Synapse. */
export const PROXY_502_PAGE =
  '<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n' +
  '<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx/1.25.3</center>\n</body>\n</html>\n';
