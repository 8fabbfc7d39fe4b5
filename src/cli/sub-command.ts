// `warden sub`: subscribes and prints what arrives, as mosquitto_sub does: payloads, or with -v
// "topic payload", or with --json one JSON object per message (topic, QoS, retain, properties).

import { Command } from 'commander';
import { connect, type ReceivedMessage } from '../client/index.js';
import { addClientFlags, brokerUrl, type ClientFlags, connectOptions, qosFlag } from './client-flags.js';
import { reportClientError } from './run-client.js';

interface SubFlags extends ClientFlags {
  topic: string[];
  qos: 0 | 1 | 2;
  verbose?: boolean;
  json?: boolean;
  count?: number;
  timeout?: number;
}

export function subCommand(): Command {
  const command = new Command('sub').description('subscribe and print messages (flags as mosquitto_sub)');
  addClientFlags(command)
    .requiredOption('-t, --topic <filter>', 'topic filter; repeatable', (v: string, all: string[] = []) => [
      ...all,
      v,
    ])
    .option('-q, --qos <qos>', 'quality of service', qosFlag, 0)
    .option('-v, --verbose', 'print "topic payload"')
    .option('--json', 'print one JSON object per message')
    .option('-C, --count <n>', 'exit after n messages', Number)
    .option('-W, --timeout <seconds>', 'exit with code 27 after this many seconds', Number)
    .action(async (flags: SubFlags) => {
      let client: Awaited<ReturnType<typeof connect>>;
      try {
        client = await connect(brokerUrl(flags), connectOptions(flags));
        const granted = await client.subscribe(flags.topic, { qos: flags.qos });
        if (flags.debug)
          process.stderr.write(`subscribed: ${flags.topic.join(', ')} (granted QoS ${granted.join(', ')})\n`);
      } catch (error) {
        reportClientError(error);
      }
      if (flags.timeout !== undefined)
        setTimeout(async () => {
          await client.end({ timeoutMs: 0 });
          process.exit(27); // mosquitto_sub's code for -W
        }, flags.timeout * 1000);
      const stop = async () => {
        await client.end({ timeoutMs: 1000 });
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      let seen = 0;
      for await (const message of client.messages()) {
        process.stdout.write(`${format(message, flags)}\n`);
        if (flags.count !== undefined && ++seen >= flags.count) break;
      }
      const lost = client.lastError;
      await client.end({ timeoutMs: 1000 });
      if (flags.count === undefined && lost) reportClientError(lost);
      process.exit(0);
    });
  return command;
}

function format(message: ReceivedMessage, flags: SubFlags): string {
  if (flags.json) {
    const text = message.payload.toString('utf8');
    const utf8 = Buffer.from(text, 'utf8').equals(message.payload);
    return JSON.stringify({
      topic: message.topic,
      qos: message.qos,
      retain: message.retain,
      ...(utf8 ? { payload: text } : { payloadBase64: message.payload.toString('base64') }),
      ...(message.properties && { properties: jsonProperties(message.properties) }),
    });
  }
  return flags.verbose ? `${message.topic} ${message.payload.toString()}` : message.payload.toString();
}

function jsonProperties(properties: object): object {
  return Object.fromEntries(
    Object.entries(properties).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('base64') : v]),
  );
}
