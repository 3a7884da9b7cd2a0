/**
 * Headless Chromium for the status page test (Debian's chromium package; scripts/ensure-chromium.sh
 * installs it). Without one the test is skipped on a developer's machine and fails (never skips) in CI
 * (CI=true) or when ./scripts/test expected one (E2E_CHROMIUM=required).
 *
 * The command line, not a library: Chromium itself renders the page, runs its script for a bounded
 * virtual time (--virtual-time-budget, so timers and the fetch of /status.json happen without waiting in
 * real time), then prints the DOM or saves a screenshot. No extra npm dependency, no DevTools protocol.
 */
import { execFileSync, spawn } from 'node:child_process';

export const chromiumRequired = (): boolean =>
  process.env.CI === 'true' || process.env.E2E_CHROMIUM === 'required';

/** The Chromium binary to use, or undefined when none runs. */
export function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, 'chromium', 'chromium-browser'].filter(
    (c): c is string => c !== undefined && c !== '',
  );
  for (const candidate of candidates) {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore', timeout: 20_000 });
      return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

const COMMON = [
  '--headless',
  '--no-sandbox', // tests run as root in CI containers
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--no-first-run',
  '--hide-scrollbars',
  '--force-device-scale-factor=1',
  '--virtual-time-budget=6000',
];

async function run(binary: string, args: string[]): Promise<string> {
  const child = spawn(binary, [...COMMON, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${binary} exited with ${String(code)}: ${stderr.slice(-2000)}`);
  return stdout;
}

/** The page's DOM after its scripts ran (serialized by Chromium). */
export function dumpDom(binary: string, url: string, windowSize = '1280,800'): Promise<string> {
  return run(binary, [`--window-size=${windowSize}`, '--dump-dom', url]);
}

/** A PNG of the page as a laptop screen shows it. */
export async function screenshot(
  binary: string,
  url: string,
  path: string,
  windowSize = '1280,800',
): Promise<void> {
  await run(binary, [`--window-size=${windowSize}`, `--screenshot=${path}`, url]);
}
