/** Problems found in the configuration: all of them are reported together, each naming its variable. */

export interface ConfigProblem {
  /** The variable (or variables, joined with " / ") to fix. */
  variable: string;
  /** The value as the operator wrote it, secrets masked; absent when the variable is unset. */
  value?: string;
  message: string;
}

export interface ConfigWarning {
  variable: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], origin: string) {
    super(formatProblems(problems, origin));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatProblems(problems: readonly ConfigProblem[], origin: string): string {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const lines = problems.map((p) => {
    const value = p.value === undefined ? '' : ` = ${p.value}`;
    return `  - ${p.variable}${value}: ${p.message}`;
  });
  return [`The configuration (${origin}) has ${count}:`, ...lines].join('\n');
}
