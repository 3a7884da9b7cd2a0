/**
 * The evaluation file of Docker-image challenges, as an organizer writes it: defaults, units, and an error
 * that names the file and every key to fix.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EvaluationFileError,
  parseEvaluation,
  readEvaluationFile,
} from '../../../src/templates/evaluation-file.js';

const base = { kind: 'docker-image-evaluation', version: 1 };

describe('the evaluation file', () => {
  it('fills in the documented defaults', () => {
    const evaluation = parseEvaluation(base, 'evaluation.yaml');
    expect(evaluation).toEqual({
      input: undefined,
      submission: {
        command: undefined,
        timeSeconds: 3600,
        memoryBytes: 2 * 1024 ** 3,
        cpus: 1,
        pids: 256,
        gpus: 0,
        scratchBytes: 256 * 1024 ** 2,
        outputBytes: 1024 ** 3,
      },
      scoring: undefined,
      uploads: { locked: [], shared: [] },
    });
  });

  it('reads durations and sizes the way the configuration does', () => {
    const evaluation = parseEvaluation(
      {
        ...base,
        input: '/srv/input',
        submission: { time: '90s', memory: '512m', output: '1g', scratch: 1048576, cpus: 1.5, gpus: 'all' },
        scoring: { image: 'scorer:1', time: '10m', memory: '4g', gold: '/srv/gold', command: ['/score'] },
        uploads: { locked: ['output/*.csv'], shared: ['scoring/report.html'] },
      },
      'evaluation.yaml',
    );
    expect(evaluation.submission.timeSeconds).toBe(90);
    expect(evaluation.submission.memoryBytes).toBe(512 * 1024 ** 2);
    expect(evaluation.submission.outputBytes).toBe(1024 ** 3);
    expect(evaluation.submission.scratchBytes).toBe(1048576);
    expect(evaluation.submission.gpus).toBe('all');
    expect(evaluation.scoring?.timeSeconds).toBe(600);
    expect(evaluation.scoring?.memoryBytes).toBe(4 * 1024 ** 3);
    expect(evaluation.scoring?.command).toEqual(['/score']);
    expect(evaluation.uploads.locked).toEqual(['output/*.csv']);
  });

  it('names the file and every key that is wrong, at once', () => {
    let error: unknown;
    try {
      parseEvaluation(
        {
          ...base,
          input: 'relative/dir',
          submission: { memory: 'lots', time: '-1h', network: true },
          uploads: { shared: ['/etc/passwd'] },
        },
        'eval/evaluation.yaml',
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(EvaluationFileError);
    const message = (error as Error).message;
    expect(message).toMatch(/^The evaluation file eval\/evaluation\.yaml is not valid: /);
    expect(message).toContain('input: expected an absolute path');
    expect(message).toContain('submission.memory: expected a size like 512m or 4g, not "lots"');
    expect(message).toContain('submission.time: expected a duration');
    expect(message).toContain('submission: unknown key(s) network');
    expect(message).toContain('uploads.shared.0: expected a path under output/ or scoring/');
  });

  it('tells a CWL workflow (or anything else) from an evaluation file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evaluation-file-'));
    writeFileSync(join(dir, 'wf.cwl'), 'cwlVersion: v1.0\nclass: CommandLineTool\n');
    writeFileSync(join(dir, 'bad.yaml'), ': : not yaml [');
    writeFileSync(
      join(dir, 'evaluation.yaml'),
      'kind: docker-image-evaluation\nversion: 1\ninput: /srv/in\n',
    );
    expect(await readEvaluationFile(join(dir, 'wf.cwl'), 'wf.cwl')).toBeUndefined();
    expect(await readEvaluationFile(join(dir, 'bad.yaml'), 'bad.yaml')).toBeUndefined();
    expect((await readEvaluationFile(join(dir, 'evaluation.yaml'), 'evaluation.yaml'))?.input).toBe(
      '/srv/in',
    );
    writeFileSync(join(dir, 'v2.yaml'), 'kind: docker-image-evaluation\nversion: 2\n');
    await expect(readEvaluationFile(join(dir, 'v2.yaml'), 'v2.yaml')).rejects.toThrow(/version/);
  });
});
