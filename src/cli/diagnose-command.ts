// `warden diagnose mqtts://host:8883`: runs the secure connection one step at a time and prints
// the table (step, action, detail, result, time), or --json; the exit code names the failed step.

import { Command } from 'commander';
import { type DiagnoseReport, diagnose } from '../client/index.js';
import { addClientFlags, brokerUrl, type ClientFlags, connectOptions } from './client-flags.js';

interface DiagnoseFlags extends ClientFlags {
  json?: boolean;
}

export function diagnoseCommand(): Command {
  const command = new Command('diagnose')
    .description('check a broker step by step: TCP, TLS, chain, verification, ALPN, OCSP, CONNECT')
    .argument('[url]', 'mqtt://host:port or mqtts://host:port (or -h/-p with TLS flags)');
  addClientFlags(command)
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 all good, 2 TCP connect, 3 TLS handshake, 4 certificate verification or OCSP, 5 MQTT CONNECT.',
    )
    .action(async (url: string | undefined, flags: DiagnoseFlags) => {
      if (flags.scram) throw new Error('diagnose sends a plain CONNECT; check SCRAM with warden pub --scram');
      const { reconnect: _r, onStage: _s, ...options } = connectOptions(flags);
      const report = await diagnose(url ?? brokerUrl(flags), { ...options, password: flags.pw });
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : table(report));
      process.exitCode = report.exitCode;
    });
  return command;
}

function table(report: DiagnoseReport): string {
  const rows = [
    ['step', 'action', 'detail', 'result', 'time'],
    ...report.steps.map((s) => [s.step, s.action, s.detail, s.result.toUpperCase(), `${s.ms} ms`]),
  ];
  const widths = [0, 1, 3, 4].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    [
      r[0]!.padEnd(widths[0]!),
      r[1]!.padEnd(widths[1]!),
      r[3]!.padEnd(widths[2]!),
      r[4]!.padStart(widths[3]!),
      r[2],
    ].join('  ');
  const chain = report.chain.map(
    (c, i) =>
      `  [${i}] ${c.subject}\n      issuer ${c.issuer}; ${c.key}; SAN ${c.san || '-'}\n      valid ${c.validFrom} .. ${c.validTo} (${c.daysLeft} days left)`,
  );
  return [
    `${report.url}: ${report.ok ? 'OK' : `FAILED at ${report.steps.find((s) => s.result === 'fail')?.step}`}`,
    '',
    ...rows.map(line),
    ...(chain.length > 0 ? ['', 'server chain:', ...chain] : []),
    '',
  ].join('\n');
}
