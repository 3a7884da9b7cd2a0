// Prints a throwaway token shaped like a Synapse personal access token (a JWT), for the e2e suite.
import { randomBytes } from 'node:crypto';

const part = (bytes) => randomBytes(bytes).toString('base64url');
const header = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: part(12) })).toString('base64url');
console.log(`${header}.${part(96)}.${part(256)}`);
