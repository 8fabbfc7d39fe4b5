#!/usr/bin/env node
// Makes the two Quick start commands work on a fresh machine: installs the npm dependencies
// when node_modules is missing or older than package-lock.json, and, with --peers, the Debian
// programs the tests drive (mosquitto, mosquitto_pub/sub, openssl). Plain Node: no dependency.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');

if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  console.error('bootstrap: installing npm dependencies (npm ci)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}

// Debian package -> a program it provides.
const peers = {
  mosquitto: 'mosquitto',
  'mosquitto-clients': 'mosquitto_sub',
  openssl: 'openssl',
  prometheus: 'promtool',
  chromium: 'chromium',
  'redis-server': 'redis-server',
  haproxy: 'haproxy',
};
if (process.argv.includes('--peers')) {
  const has = (program) => spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;
  const missing = Object.entries(peers)
    .filter(([, program]) => !has(program))
    .map(([pkg]) => pkg);
  if (missing.length > 0) {
    const canInstall = process.getuid?.() === 0 && has('apt-get');
    if (!canInstall) {
      console.error(
        `bootstrap: the tests need ${missing.join(', ')}: run  sudo apt-get install -y ${missing.join(' ')}`,
      );
      process.exit(1);
    }
    console.error(`bootstrap: installing ${missing.join(', ')} (apt-get)`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
  }
}
