#!/usr/bin/env node
// The `warden` command: one subcommand per file, wired here.

import { Command } from 'commander';
import { brokerCommand } from './broker-command.js';

const program = new Command('warden').description('Warden: secure MQTT telemetry broker, client and tools');
program.addCommand(brokerCommand());
await program.parseAsync(process.argv);
