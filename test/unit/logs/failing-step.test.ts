/**
 * Finding the failing step's own output in an engine's log. The fixtures in test/fixtures/engine-logs are
 * real stderr of cwltool 3.1 and toil-cwl-runner 5.9 (recorded with the engine images local/cwl-engine:1 and :toil, whose engines :2 keeps),
 * colour codes included, for workflows shaped like organizers' templates:
 *   own    a step in a step container prints two stderr lines and exits 2;
 *   py     a step in the engine raises a Python exception (a traceback of the step's own);
 *   redir  a step whose stdout is captured (`stdout:`) prints one validation line on stderr and exits 1;
 *   noout  a step prints its error and exits 0 without its output file ("Job error" follows);
 *   tool   the whole workflow is one CommandLineTool that prints a line on stdout and one on stderr;
 *   sage   Sage's shape: a validate step succeeds, then a check ExpressionTool throws 'invalid submission'.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FAILING_STEP_WINDOW_BYTES,
  findFailingStep,
  readFailingStep,
  stepName,
} from '../../../src/evaluation/logs/failing-step.js';
import { stripTerminalCodes } from '../../../src/evaluation/logs/tail.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'engine-logs');
const rawLines = (name: string) => readFileSync(join(FIXTURES, name), 'utf8').split('\n');
const engineLog = (name: string) => rawLines(name).map(stripTerminalCodes);

const NOT_A_NUMBER = "score: column 'probability' has a value that is not a number (row 7)";
const PYTHON_ERROR = "ValueError: column 'probability' must hold numbers between 0 and 1";

describe('findFailingStep on real engine output', () => {
  it.each(['cwltool', 'toil'])(
    '%s: a step container that prints and exits non-zero: its own lines, not the command',
    (engine) => {
      expect(findFailingStep(engineLog(`${engine}-own.log`))).toEqual({
        step: 'score',
        lines: ['reading predictions', NOT_A_NUMBER],
      });
    },
  );

  it.each(['cwltool', 'toil'])(
    "%s: a Python step's traceback is the step's own, the engine's is left out",
    (engine) => {
      const found = findFailingStep(engineLog(`${engine}-py.log`));
      expect(found?.step).toBe('score');
      expect(found?.lines.at(-1)).toBe(PYTHON_ERROR);
      expect(found?.lines.join('\n')).not.toMatch(/toil|cwltool|WorkflowException|permanentFail/);
    },
  );

  it.each(['cwltool', 'toil'])(
    '%s: a step that ends without its output: its line, not the "Job error" that follows',
    (engine) => {
      expect(findFailingStep(engineLog(`${engine}-noout.log`))).toEqual({
        step: 'score',
        lines: ["score: the prediction file has no 'probability' column"],
      });
    },
  );

  it('cwltool: a step with captured stdout: the stderr line after the quoted command and its redirection', () => {
    expect(findFailingStep(engineLog('cwltool-redir.log'))).toEqual({
      step: 'validate',
      lines: ['invalid submission: line 5 (id 4): score "abc" is not a number'],
    });
  });

  it('cwltool: a one-tool workflow: both of its lines, named after the tool file', () => {
    expect(findFailingStep(engineLog('cwltool-tool.log'))).toEqual({
      step: 'workflow.cwl',
      lines: ['private-row-4242', 'bad input'],
    });
  });

  it.each(['cwltool', 'toil'])(
    '%s: a check expression that throws: what it threw, and its step',
    (engine) => {
      expect(findFailingStep(engineLog(`${engine}-sage.log`))).toEqual({
        step: '09_check_validation_status',
        lines: ['invalid submission'],
      });
    },
  );

  it('the last lines, at most maxLines', () => {
    expect(findFailingStep(engineLog('cwltool-py.log'), 2)?.lines).toEqual([
      '  File "<string>", line 4, in check',
      PYTHON_ERROR,
    ]);
  });
});

describe('findFailingStep on made-up shapes', () => {
  it('nothing failed, or the failing step printed nothing: undefined', () => {
    expect(
      findFailingStep([
        'INFO [job a] /tmp/x$ true',
        'INFO [job a] completed success',
        'INFO Final process status is success',
      ]),
    ).toBeUndefined();
    expect(
      findFailingStep([
        'INFO [job a] /tmp/x$ false',
        'WARNING [job a] exited with status: 1',
        'WARNING [job a] completed permanentFail',
        'Traceback (most recent call last):',
        'SomeEngineError: boom',
      ]),
    ).toBeUndefined();
  });

  it('two steps fail in parallel: the first to fail, without the other step’s engine lines', () => {
    expect(
      findFailingStep([
        'INFO [job a] /tmp/a$ sh \\',
        "    -c 'echo a-failed >&2; exit 1'",
        'INFO [job b] /tmp/b$ sh \\',
        "    -c 'echo b-failed >&2; exit 1'",
        'a-failed',
        'INFO [job b] Max memory used: 1MiB',
        'WARNING [job a] exited with status: 1',
        'WARNING [job a] completed permanentFail',
        'b-failed',
        'WARNING [job b] completed permanentFail',
      ]),
    ).toEqual({ step: 'a', lines: ['a-failed'] });
  });

  it('the command line is outside the window: the lines just before the job’s status lines', () => {
    expect(
      findFailingStep([
        'line 1 of a long run',
        'the real problem',
        'WARNING [job score] exited with status: 1',
        'WARNING [job score] completed permanentFail',
      ]),
    ).toEqual({ step: 'score', lines: ['line 1 of a long run', 'the real problem'] });
  });

  it("toil's job names lose the workflow file and the uuid", () => {
    expect(stepName('workflow.cwl.07_validate.d5d5d728-2b66-474b-82e0-100d035da28e')).toBe('07_validate');
    expect(stepName('main.cwl.sub.step')).toBe('sub.step');
    expect(stepName('score')).toBe('score');
    expect(stepName('workflow.cwl')).toBe('workflow.cwl');
  });
});

describe('readFailingStep', () => {
  const logFile = (lines: string[]) => {
    const path = join(mkdtempSync(join(tmpdir(), 'failing-step-')), 'workflow.log');
    writeFileSync(
      path,
      lines
        .map((text, i) => `STDERR 2026-12-06T19:55:${String(i % 60).padStart(2, '0')}.0Z ${text}\n`)
        .join(''),
    );
    return path;
  };

  it('reads the orchestrator’s log file format, colour codes and all', async () => {
    const path = logFile(rawLines('toil-own.log'));
    expect(await readFailingStep(path)).toEqual({
      step: 'score',
      lines: ['reading predictions', NOT_A_NUMBER],
    });
  });

  it('finds the step near the end of a log far larger than its window', async () => {
    const noise = Array.from({ length: 20_000 }, (_, i) => `INFO [job earlier] progress line ${i}`);
    const path = logFile([...noise, ...rawLines('cwltool-redir.log')]);
    expect(noise.join('\n').length).toBeGreaterThan(FAILING_STEP_WINDOW_BYTES);
    expect((await readFailingStep(path))?.lines).toEqual([
      'invalid submission: line 5 (id 4): score "abc" is not a number',
    ]);
  });

  it('is undefined without a log', async () => {
    expect(await readFailingStep('/nonexistent/workflow.log')).toBeUndefined();
  });
});
