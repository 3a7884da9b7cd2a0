/**
 * The Docker policy for tests: with an engine, tests run; without one they are skipped on a developer's
 * machine, and fail (never skip) in CI or when ./scripts/test found an engine it expected to keep.
 */
import { describe, inject, it } from 'vitest';

export function describeWithDocker(name: string, body: () => void): void {
  if (inject('dockerAvailable')) {
    describe(name, body);
  } else if (inject('dockerRequired')) {
    describe(name, () => {
      it('needs a Docker engine', () => {
        throw new Error(
          'No Docker engine answers on /var/run/docker.sock, and this run requires one (CI=true).',
        );
      });
    });
  } else {
    describe.skip(`${name} (skipped: no Docker engine)`, body);
  }
}
