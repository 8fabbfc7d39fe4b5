#!/usr/bin/env node
// The `warden` command: one subcommand per file, wired here.

import { Command } from 'commander';

// Only the subcommand named is loaded: `warden broker` does not carry the client's, the
// certificate tools' and the load generator's modules (with @peculiar/x509, megabytes of heap)
// for as long as the broker runs. Anything else (help, a typo) loads them all, for commander to list.
const subcommands = {
  broker: async () => (await import('./broker-command.js')).brokerCommand(),
  pub: async () => (await import('./pub-command.js')).pubCommand(),
  sub: async () => (await import('./sub-command.js')).subCommand(),
  diagnose: async () => (await import('./diagnose-command.js')).diagnoseCommand(),
  certs: async () => (await import('./certs-command.js')).certsCommand(),
  passwd: async () => (await import('./passwd-command.js')).passwdCommand(),
  bench: async () => (await import('./bench-command.js')).benchCommand(),
};
type Subcommand = keyof typeof subcommands;
const named = process.argv[2];
const wanted = (
  named !== undefined && Object.hasOwn(subcommands, named) ? [named] : Object.keys(subcommands)
) as Subcommand[];

const program = new Command('warden').description('Warden: secure MQTT telemetry broker, client and tools');
for (const command of await Promise.all(wanted.map((name) => subcommands[name]())))
  program.addCommand(command);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  // A command's refusal (bad file, wrong passphrase) is one line naming what is wrong, not a stack.
  process.stderr.write(`Error: ${(error as Error).message ?? String(error)}\n`);
  process.exitCode = 1;
}
