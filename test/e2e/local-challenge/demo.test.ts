/**
 * `synapse-orchestrator demo` (what `npm run demo` runs once everything is installed), twice on the same
 * directory, as a newcomer would: the expected endings, the exported log tree, the messages.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { describeWithDocker } from '../../support/docker.js';

function summaryLine(stdout: string, id: string): string {
  return stdout.split('\n').find((line) => line.startsWith(`  ${id}  `)) ?? '';
}

describeWithDocker('demo', () => {
  it('runs the sample challenge to the expected endings, twice on the same directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-e2e-'));

    for (const run of [1, 2]) {
      const demo = await runCli(['demo', '--dir', dir, '--port', '0']);
      expect(demo.status, `run ${run}:\n${demo.stdout}\n${demo.stderr}`).toBe(0);
      const out = demo.stdout;
      expect(out).toContain(run === 1 ? '(set up now;' : '(set up by an earlier run;');
      expect(out).toContain('Every submission ended as expected.');

      // The summary: one line per submission with its ending, in the order submitted.
      const summary = out.slice(out.indexOf('What happened:'));
      const ids = [...summary.matchAll(/^ {2}(\d+) {2}\S/gm)].map((m) => m[1] ?? '');
      expect(ids).toHaveLength(4);
      const [scored, invalid, cancelled, longer] = ids.map((id) => summaryLine(summary, id));
      expect(scored).toMatch(/Leaderboard round\s+alice\s+ACCEPTED \(DONE\)\s+score 0\.\d+/);
      expect(invalid).toMatch(/Leaderboard round\s+Demo team \(bob\)\s+INVALID \(ERROR\)/);
      expect(out).toMatch(/from its log: invalid submission: .*is not a number/);
      expect(cancelled).toMatch(/Final round\s+bob\s+INVALID \(STOPPED UPON REQUEST\)/);
      expect(longer).toMatch(/Final round\s+Demo team \(alice\)\s+ACCEPTED \(DONE\)\s+score 0\.\d+/);

      // The platform's folder tree, exported: Logs/<submitter>/<submission>/<submission>_logs.txt.
      for (const id of ids) {
        const listed = new RegExp(`Logs/(\\d+)/${id}/${id}_logs\\.txt`).exec(out);
        expect(listed, `log of ${id} listed`).not.toBeNull();
        const text = readFileSync(join(dir, 'Logs', listed?.[1] ?? '', id, `${id}_logs.txt`), 'utf8');
        expect(text.length).toBeGreaterThan(0);
      }

      // Messages: each participant (and the team) got a "started" and a final one per submission.
      expect(out).toMatch(/to alice:\n {4}Submission \d+ is being evaluated/);
      expect(out).toMatch(/Submission \d+ was stopped: Demo challenge: Final round/);
      expect(out).toMatch(/Submission \d+ failed: Demo challenge: Leaderboard round/);
      expect(readdirSync(join(dir, 'Messages')).sort()).toEqual(['Demo team', 'alice', 'bob']);
      // Each submission's "started" message arrived before its final one, even under the message limit.
      const messages = out.slice(out.indexOf('Messages the participants received'));
      for (const id of ids) {
        const started = messages.indexOf(`Submission ${id} is being evaluated`);
        const ended = messages.search(new RegExp(`Submission ${id} (finished|failed|was stopped)`));
        expect(started, `messages of ${id}`).toBeGreaterThanOrEqual(0);
        expect(ended, `messages of ${id}`).toBeGreaterThan(started);
      }
    }
    expect(existsSync(join(dir, 'demo.json'))).toBe(true);

    // The platform's data removed by hand: the demo sets its challenge up again instead of failing.
    rmSync(join(dir, 'platform'), { recursive: true, force: true });
    const again = await runCli(['demo', '--dir', dir, '--port', '0']);
    expect(again.status, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(again.stdout).toContain('(set up now;');
    expect(again.stdout).toContain('Every submission ended as expected.');
  }, 420_000);
});
