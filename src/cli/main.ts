#!/usr/bin/env node
// The `warden` command: one subcommand per file, wired here.

import { Command } from 'commander';
import { benchCommand } from './bench-command.js';
import { brokerCommand } from './broker-command.js';
import { certsCommand } from './certs-command.js';
import { diagnoseCommand } from './diagnose-command.js';
import { passwdCommand } from './passwd-command.js';
import { pubCommand } from './pub-command.js';
import { subCommand } from './sub-command.js';

const program = new Command('warden').description('Warden: secure MQTT telemetry broker, client and tools');
program.addCommand(brokerCommand());
program.addCommand(pubCommand());
program.addCommand(subCommand());
program.addCommand(diagnoseCommand());
program.addCommand(certsCommand());
program.addCommand(passwdCommand());
program.addCommand(benchCommand());
try {
  await program.parseAsync(process.argv);
} catch (error) {
  // A command's refusal (bad file, wrong passphrase) is one line naming what is wrong, not a stack.
  process.stderr.write(`Error: ${(error as Error).message ?? String(error)}\n`);
  process.exitCode = 1;
}
