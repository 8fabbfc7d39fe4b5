// `warden pub`: publishes one message, a file, or stdin line by line, as mosquitto_pub does;
// QoS 1/2 wait for the broker's acknowledgement before exiting.

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { connect } from '../client/index.js';
import {
  addClientFlags,
  brokerUrl,
  type ClientFlags,
  connectOptions,
  type QoSLevel,
  qosFlag,
} from './client-flags.js';
import { reportClientError } from './run-client.js';

interface PubFlags extends ClientFlags {
  topic: string;
  message?: string;
  file?: string;
  stdinLine?: boolean;
  stdinFile?: boolean;
  nullMessage?: boolean;
  qos: QoSLevel;
  retain?: boolean;
}

export function pubCommand(): Command {
  const command = new Command('pub').description('publish a message (flags as mosquitto_pub)');
  addClientFlags(command)
    .requiredOption('-t, --topic <topic>', 'topic to publish to')
    .option('-m, --message <text>', 'the message')
    .option('-f, --file <file>', 'send the whole file as the message')
    .option('-l, --stdin-line', 'send each line of stdin as a message')
    .option('-s, --stdin-file', 'send all of stdin as one message')
    .option('-n, --null-message', 'send an empty message')
    .option('-q, --qos <qos>', 'quality of service', qosFlag, 0)
    .option('-r, --retain', 'retain the message')
    .action(async (flags: PubFlags) => {
      const sources = [flags.message, flags.file, flags.stdinLine, flags.stdinFile, flags.nullMessage].filter(
        (s) => s !== undefined,
      );
      if (sources.length !== 1) command.error('give exactly one of -m, -f, -l, -s, -n');
      let client: Awaited<ReturnType<typeof connect>>;
      try {
        client = await connect(brokerUrl(flags), connectOptions(flags));
      } catch (error) {
        reportClientError(error);
      }
      const options = { qos: flags.qos, retain: flags.retain ?? false };
      try {
        if (flags.stdinLine) {
          for await (const line of createInterface({ input: process.stdin }))
            await client.publish(flags.topic, line, options);
        } else {
          const payload =
            flags.message ??
            (flags.file !== undefined
              ? readFileSync(flags.file)
              : flags.stdinFile
                ? readFileSync(0)
                : Buffer.alloc(0));
          await client.publish(flags.topic, payload, options);
        }
        await client.end();
      } catch (error) {
        await client.end({ timeoutMs: 0 });
        reportClientError(error);
      }
    });
  return command;
}
