#!/usr/bin/env node
// The `warden` command: one subcommand per file, wired here.

import { Command } from 'commander';
import { brokerCommand } from './broker-command.js';
import { diagnoseCommand } from './diagnose-command.js';
import { pubCommand } from './pub-command.js';
import { subCommand } from './sub-command.js';

const program = new Command('warden').description('Warden: secure MQTT telemetry broker, client and tools');
program.addCommand(brokerCommand());
program.addCommand(pubCommand());
program.addCommand(subCommand());
program.addCommand(diagnoseCommand());
await program.parseAsync(process.argv);
