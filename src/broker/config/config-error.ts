// A configuration that cannot be used: each problem names where it is (file:line or key path) and
// what is wrong, so a person can fix the file without reading our code.

export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  /** One line per problem, e.g. "broker.yaml: listeners[0].port: must be at most 65535". */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
