import { describe, expect, it } from 'vitest';
import {
  accepts,
  inspectWorkflowInputs,
  parseType,
  typeText,
  type InputFinding,
} from '../../../src/preflight/cwl-inputs.js';

const FIVE = `
  submissionId: int
  adminUploadSynId: string
  submitterUploadSynId: string
  workflowSynapseId: string
  synapseConfig: File
`;

function tool(inputs: string, cls = 'CommandLineTool'): string {
  return `cwlVersion: v1.0\nclass: ${cls}\nbaseCommand: [echo]\ninputs:${inputs}outputs: []\n`;
}

function inspect(text: string, fragment?: string) {
  return inspectWorkflowInputs(text, { file: 'wf.cwl', ...(fragment === undefined ? {} : { fragment }) });
}

const kinds = (findings: InputFinding[]) =>
  findings.map((f) => `${f.severity} ${f.kind} ${f.input ?? ''}`.trim());

describe('parseType and typeText', () => {
  it('reads the sugar of CWL types', () => {
    expect(typeText(parseType('int?'))).toBe('int?');
    expect(typeText(parseType('string[]'))).toBe('string[]');
    expect(typeText(parseType('File[]?'))).toBe('File[]?');
    expect(typeText(parseType(['null', 'int']))).toBe('int?');
    expect(typeText(parseType(['int', 'string']))).toBe('[int, string]');
    expect(typeText(parseType({ type: 'array', items: 'string' }))).toBe('string[]');
    expect(typeText(parseType({ type: 'enum', symbols: ['a'] }))).toBe('enum');
    expect(parseType('#MyRecord')).toEqual({ kind: 'unknown', text: '#MyRecord' });
  });

  it('judges values as cwltool does (checked with cwltool 3.1)', () => {
    // An integer fits int, long, float and double; not string, not int[], not string?.
    for (const type of ['int', 'long', 'float', 'double', 'int?', 'Any', ['int', 'string']]) {
      expect(accepts(parseType(type), 'int')).toBe('yes');
    }
    for (const type of ['string', 'string?', 'int[]', 'File', 'boolean']) {
      expect(accepts(parseType(type), 'int')).toBe('no');
    }
    expect(accepts(parseType('string'), 'string')).toBe('yes');
    expect(accepts(parseType('int'), 'string')).toBe('no');
    expect(accepts(parseType('string[]'), 'string')).toBe('no');
    expect(accepts(parseType('File'), 'File')).toBe('yes');
    expect(accepts(parseType('File?'), 'File')).toBe('yes');
    expect(accepts(parseType('Directory'), 'File')).toBe('no');
    expect(accepts(parseType('string'), 'File')).toBe('no');
    expect(accepts(parseType({ type: 'enum', symbols: ['a'] }), 'string')).toBe('no');
    expect(accepts(parseType('#Custom'), 'string')).toBe('unknown');
    expect(accepts(parseType(['null', '#Custom']), 'string')).toBe('unknown');
  });
});

describe('inspectWorkflowInputs', () => {
  it("accepts SWO's five inputs, declared as a map", () => {
    const report = inspect(tool(FIVE, 'Workflow'));
    expect(report.processClass).toBe('Workflow');
    expect(report.declared.map((d) => d.name)).toEqual([
      'submissionId',
      'adminUploadSynId',
      'submitterUploadSynId',
      'workflowSynapseId',
      'synapseConfig',
    ]);
    expect(report.findings).toEqual([]);
  });

  it('reads inputs as a list, with long forms, ids with #, and JSON', () => {
    const document = {
      cwlVersion: 'v1.0',
      class: 'CommandLineTool',
      inputs: [
        { id: '#submissionId', type: 'long' },
        { id: 'adminUploadSynId', type: ['null', 'string'] },
        { id: 'submitterUploadSynId', type: 'string', inputBinding: { position: 1 } },
        { id: 'workflowSynapseId', type: 'Any' },
        { id: 'synapseConfig', type: 'File?' },
        { id: 'threshold', type: 'float', default: 0.5 },
        { id: 'label', type: 'string?' },
      ],
      outputs: [],
    };
    const report = inspect(JSON.stringify(document));
    expect(report.findings).toEqual([]);
    expect(report.declared.find((d) => d.name === 'threshold')?.optional).toBe(true);
    expect(report.declared.find((d) => d.name === 'submissionId')?.optional).toBe(false);
  });

  it('reads map entries with a type and a default', () => {
    const report = inspect(
      tool(`${FIVE}  threshold:\n    type: float\n    default: 0.5\n  extra:\n    type: ['null', int]\n`),
    );
    expect(report.findings).toEqual([]);
  });

  it('finds a required input the orchestrator does not pass: a problem', () => {
    const report = inspect(tool(`${FIVE}  goldstandard: File\n  threshold:\n    type: float\n`));
    expect(kinds(report.findings)).toEqual([
      'problem required-not-passed goldstandard',
      'problem required-not-passed threshold',
    ]);
    const [first] = report.findings;
    expect(first?.message).toContain("Missing required input parameter 'goldstandard'");
    expect(first?.fix).toBe('Give goldstandard a default or make it optional (File?) in wf.cwl.');
  });

  it('finds a passed input declared with a type that rejects it: a problem', () => {
    const report = inspect(
      tool(`
  submissionId: string
  adminUploadSynId: int
  submitterUploadSynId: string[]
  workflowSynapseId: string
  synapseConfig: Directory
`),
    );
    expect(kinds(report.findings)).toEqual([
      'problem incompatible-type submissionId',
      'problem incompatible-type adminUploadSynId',
      'problem incompatible-type submitterUploadSynId',
      'problem incompatible-type synapseConfig',
    ]);
    expect(report.findings[0]?.message).toContain('declares submissionId as string');
    expect(report.findings[0]?.fix).toBe('Declare submissionId as int in wf.cwl.');
  });

  it('an optional string is still a string: submissionId: string? is rejected', () => {
    expect(kinds(inspect(tool(FIVE.replace('submissionId: int', 'submissionId: string?'))).findings)).toEqual(
      ['problem incompatible-type submissionId'],
    );
  });

  it('an input the orchestrator passes but the workflow does not declare is only a warning (cwltool ignores it)', () => {
    const report = inspect(tool('\n  submissionId: int\n'));
    expect(kinds(report.findings)).toEqual([
      'warning not-declared adminUploadSynId',
      'warning not-declared submitterUploadSynId',
      'warning not-declared workflowSynapseId',
      'warning not-declared synapseConfig',
    ]);
  });

  it('a type it cannot read is a warning, not a problem', () => {
    const report = inspect(tool(FIVE.replace('workflowSynapseId: string', 'workflowSynapseId: "#SynId"')));
    expect(kinds(report.findings)).toEqual(['warning unknown-type workflowSynapseId']);
  });

  it('a required input of a type it cannot read is still required', () => {
    expect(kinds(inspect(tool(`${FIVE}  model: "#Model"\n`)).findings)).toEqual([
      'problem required-not-passed model',
    ]);
  });

  describe('packed documents', () => {
    const packed = (mainId: string) =>
      JSON.stringify({
        cwlVersion: 'v1.2',
        $graph: [
          {
            class: 'CommandLineTool',
            id: '#step',
            inputs: [{ id: '#step/x', type: 'string' }],
            outputs: [],
          },
          {
            class: 'Workflow',
            id: mainId,
            inputs: [
              { id: `${mainId}/submissionId`, type: 'int' },
              { id: `${mainId}/adminUploadSynId`, type: 'string' },
              { id: `${mainId}/submitterUploadSynId`, type: 'string' },
              { id: `${mainId}/workflowSynapseId`, type: 'string' },
              { id: `${mainId}/synapseConfig`, type: 'File' },
            ],
            outputs: [],
            steps: [],
          },
        ],
      });

    it('uses #main', () => {
      const report = inspect(packed('#main'));
      expect(report.processClass).toBe('Workflow');
      expect(report.findings).toEqual([]);
    });

    it('uses the fragment of ROOT_TEMPLATE', () => {
      const report = inspect(packed('#entry'), 'entry');
      expect(report.processClass).toBe('Workflow');
      expect(report.findings).toEqual([]);
      expect(inspect(packed('#main'), 'step').findings.map((f) => f.kind)).toContain('not-declared');
    });

    it('says which ids there are when #main is missing', () => {
      const report = inspect(packed('#entry'));
      expect(kinds(report.findings)).toEqual(['problem unreadable']);
      expect(report.findings[0]?.message).toContain('#step, #entry');
      expect(report.findings[0]?.fix).toContain('wf.cwl#<id>');
    });

    it('a $graph of one process needs no #main', () => {
      const one = JSON.stringify({
        cwlVersion: 'v1.2',
        $graph: [{ class: 'CommandLineTool', id: '#only', inputs: { submissionId: 'int' }, outputs: [] }],
      });
      expect(inspect(one).processClass).toBe('CommandLineTool');
    });
  });

  describe('documents that are not a workflow', () => {
    it('bad YAML', () => {
      const report = inspect('class: Workflow\ninputs: [unclosed\n');
      expect(kinds(report.findings)).toEqual(['problem unreadable']);
      expect(report.findings[0]?.message).toContain('not valid YAML or JSON');
    });

    it('not an object', () => {
      expect(kinds(inspect('- a\n- b\n').findings)).toEqual(['problem unreadable']);
    });

    it('no class, or another class', () => {
      expect(inspect('inputs: {}\n').findings[0]?.message).toContain('it has no class');
      expect(inspect('class: File\ninputs: {}\n').findings[0]?.message).toContain('its class is File');
    });

    it('no inputs', () => {
      const report = inspect('cwlVersion: v1.0\nclass: Workflow\noutputs: []\nsteps: []\n');
      expect(report.processClass).toBe('Workflow');
      expect(report.findings[0]?.message).toContain('it has no inputs section');
    });

    it('an input list entry without id', () => {
      expect(inspect('class: Workflow\ninputs:\n  - type: int\n').findings[0]?.message).toContain(
        'has no id',
      );
    });
  });
});
