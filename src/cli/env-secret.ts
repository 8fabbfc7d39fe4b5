// Secrets (PKCS#12 and key passphrases) come from the environment, never from the command line,
// where ps and shell history would show them.

/** The named environment variable's value; undefined when no variable is named; an error when it is not set. */
export function envSecret(variable: string | undefined): string | undefined {
  if (variable === undefined) return undefined;
  const value = process.env[variable];
  if (value === undefined) throw new Error(`environment variable ${variable} is not set`);
  return value;
}
