/** Participant-chosen strings on the status page and in the terminal stay text. */
import { describe, expect, it } from 'vitest';
import { escapeHtml, jsonForScript } from '../../../src/status/html.js';
import { renderStatusPage } from '../../../src/status/page.js';
import { buildStatusReport } from '../../../src/status/report.js';
import { formatStatusText, table, terminalSafe } from '../../../src/status/status-text.js';

const HOSTILE = `</script><script>alert(1)</script><img src=x onerror="alert('x')">&amp;\u2028`;

function reportWith(alias: string, orchestratorId = 'o1') {
  return buildStatusReport({
    orchestratorId,
    version: '1.2.3',
    now: Date.parse('2026-01-01T10:00:00Z'),
    health: { healthy: true, state: 'idle' },
    draining: 'synapse-orchestrator drain',
    stopping: false,
    maxConcurrent: 4,
    lastTickAt: Date.parse('2026-01-01T09:59:59Z'),
    running: [
      {
        submissionId: '9700001',
        evaluationId: '9600001',
        submitter: { userId: '3000007', teamId: '3000008', alias },
        state: 'running',
        startedAt: Date.parse('2026-01-01T09:57:30Z'),
        progress: 40,
        container: 'workflow_job.1234',
        lastLogUploadAt: Date.parse('2026-01-01T09:59:30Z'),
      },
    ],
    queues: [
      { evaluationId: '9600001', waiting: 2, waitingSeenAt: Date.parse('2026-01-01T09:59:59Z') },
      { evaluationId: '9600002' },
    ],
    outbox: { ready: 1, held: 2, sent: 7, failed: 0 },
  });
}

describe('HTML escaping', () => {
  it('escapes the characters that open markup or close attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&\`</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;',
    );
  });

  it('embeds JSON in a script element without a way out, and it reads back the same', () => {
    const embedded = jsonForScript({ alias: HOSTILE });
    expect(embedded).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(embedded)).toEqual({ alias: HOSTILE });
  });

  it('puts a hostile team name (and orchestrator id) in the page only as escaped data', () => {
    const page = renderStatusPage(reportWith(HOSTILE, '<b>id</b>'));
    expect(page.html).not.toContain('<img');
    expect(page.html).not.toContain('alert(1)</script>');
    expect(page.html.match(/<script/g)).toHaveLength(2); // the data block and the page's own script
    expect(page.html).toContain('<title>synapse-orchestrator &lt;b&gt;id&lt;/b&gt;</title>');
    // The script builds cells with textContent only.
    expect(page.html).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    const nonce = /script-src 'nonce-([^']+)'/.exec(page.contentSecurityPolicy)?.[1];
    expect(nonce).toBeDefined();
    expect(page.html).toContain(`<script nonce="${nonce ?? ''}">`);
    expect(page.contentSecurityPolicy).toContain("default-src 'none'");
    expect(page.contentSecurityPolicy).toContain("connect-src 'self'");
  });

  it('gives each page its own nonce', () => {
    const a = renderStatusPage(reportWith('x')).contentSecurityPolicy;
    const b = renderStatusPage(reportWith('x')).contentSecurityPolicy;
    expect(a).not.toBe(b);
  });
});

describe('terminal output', () => {
  it('replaces control characters and direction overrides, and cuts long values', () => {
    expect(terminalSafe('team\u001b[2J\u001b]0;owned\u0007 \u202eevil')).toBe('team?[2J?]0;owned? ?evil');
    expect(terminalSafe('a'.repeat(50), 10)).toBe(`${'a'.repeat(9)}…`);
  });

  it('aligns columns', () => {
    expect(
      table(
        ['A', 'BB'],
        [
          ['xxx', 'y'],
          ['z', ''],
        ],
      ),
    ).toBe('A    BB\nxxx  y\nz');
  });

  it('prints the summary, the running row and the queues', () => {
    const text = formatStatusText(reportWith('Team \u001b[31mRed'), 'http://127.0.0.1:8484');
    expect(text).toContain(
      'Orchestrator o1 (version 1.2.3) at http://127.0.0.1:8484: draining (synapse-orchestrator drain)',
    );
    expect(text).toContain(
      '1 of 4 running here; 2 waiting in 2 queue(s); 3 message(s) to send; last tick 1 s ago',
    );
    expect(text).toMatch(
      /9700001 +9600001 +Team \?\[31mRed +running +2026-01-01 09:57:30Z +2 min 30 s +40% +workflow_job\.1234 +30 s ago/,
    );
    expect(text).toMatch(/9600002 +0 +- +not listed yet/);
    expect(text).toContain('drain --wait');
    expect(text).not.toContain('\u001b');
  });
});
