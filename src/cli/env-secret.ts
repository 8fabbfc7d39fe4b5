// Secrets (PKCS#12 and key passphrases) come from the environment, never from the command line,
// where ps and shell history would show them.

/** The named environment variable's value; `missing` is the error when no variable was named. */
export function envSecret(variable: string | undefined, missing: string): string {
  if (variable === undefined) throw new Error(missing);
  const value = process.env[variable];
  if (value === undefined) throw new Error(`environment variable ${variable} is not set`);
  return value;
}
