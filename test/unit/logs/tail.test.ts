/** The log lines quoted in a failure message: the last ones, text only, without terminal colour codes. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLogTail } from '../../../src/evaluation/logs/tail.js';
import { clearRegisteredSecrets, registerSecret } from '../../../src/logging/redact.js';

describe('readLogTail', () => {
  it('keeps the last lines, drops the stream/timestamp prefix and colour codes', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tail-')), 'workflow.log');
    const lines = Array.from(
      { length: 50 },
      (_, i) => `STDERR 2026-11-21T10:00:${String(i).padStart(2, '0')}.000000000Z line ${i}`,
    );
    lines.push('STDERR 2026-11-21T10:01:00.000000000Z \u001b[1;30mWARNING\u001b[0m permanentFail');
    writeFileSync(path, `${lines.join('\n')}\n`);
    const tail = await readLogTail(path, 3);
    expect(tail).toBe('line 48\nline 49\nWARNING permanentFail');
  });

  it('redacts secrets (a registered token, a credentials line)', async () => {
    registerSecret('a-registered-secret-token');
    try {
      const path = join(mkdtempSync(join(tmpdir(), 'tail-')), 'workflow.log');
      writeFileSync(
        path,
        'STDERR 2026-11-21T10:00:00.000000000Z using a-registered-secret-token\n' +
          'STDERR 2026-11-21T10:00:01.000000000Z authtoken=abcdef123456\n',
      );
      expect(await readLogTail(path)).toBe('using [REDACTED]\nauthtoken=[REDACTED]');
    } finally {
      clearRegisteredSecrets();
    }
  });

  it('is undefined for a missing log', async () => {
    expect(await readLogTail('/nonexistent/workflow.log')).toBeUndefined();
  });
});
