// Configuration as users write it: the native YAML/JSON schema and Mosquitto 2.x directives. Each
// bad file gets an error naming file:line or the key path and what is wrong.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfigFile, validateConfig } from '../../src/broker/index.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function problems(path: string): Promise<readonly string[]> {
  try {
    await loadConfigFile(path);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail(`${path} was accepted`);
}

describe('native schema', () => {
  it('fills every default and freezes the result', () => {
    const config = validateConfig({ listeners: [{ port: 1883 }] });
    assert.deepEqual(config.listeners[0], {
      protocol: 'mqtt',
      host: '127.0.0.1',
      port: 1883,
      path: '/mqtt',
      maxPendingConnects: 4096,
      maxConnectionsPerAddress: 0,
    });
    assert.equal(config.allowAnonymous, false, 'anonymous off unless said');
    assert.equal(config.maxInflight, 20);
    assert.equal(config.maxQueuedBytes, 64 * 1024 * 1024, 'queues bounded by bytes too');
    assert.equal(config.sysInterval, 10);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.listeners[0]));
  });

  it('names each bad key path and why', () => {
    assert.throws(
      () =>
        validateConfig({
          listeners: [{ port: 70000, protocol: 'quic' }],
          maxQos: 3,
          maxPackt: 10,
          maxPacketSize: 10,
        }),
      (error: ConfigError) => {
        const text = error.problems.join('\n');
        assert.match(text, /^listeners\[0\]\.port: .*65535/m);
        assert.match(text, /^listeners\[0\]\.protocol: .*"mqtt"\|"ws"/m);
        assert.match(text, /^maxQos: .*<=2/m);
        assert.match(text, /^maxPacketSize: below 20 bytes no CONNECT fits/m);
        assert.match(text, /unknown setting "maxPackt"/);
        assert.equal(error.problems.length, 5);
        return true;
      },
    );
  });

  it('needs at least one listener', () => {
    assert.throws(() => validateConfig({ listeners: [] }), /listeners: at least one listener is needed/);
  });

  it('reads YAML and JSON files, and names the file and line of a syntax error', async () => {
    const yaml = await loadConfigFile(
      file(
        'broker.yaml',
        'listeners:\n  - port: 1884\n    host: 0.0.0.0\n  - protocol: ws\n    port: 8081\nallowAnonymous: true\nmaxQueuedMessages: 50\n',
      ),
    );
    assert.equal(yaml.listeners[1]?.protocol, 'ws');
    assert.equal(yaml.maxQueuedMessages, 50);
    const json = await loadConfigFile(
      file('broker.json', JSON.stringify({ listeners: [{ port: 1 }], sysInterval: 0 })),
    );
    assert.equal(json.sysInterval, 0);
    assert.match(
      (await problems(file('bad.yaml', 'listeners:\n  - port: 1\n   host: x\n')))[0]!,
      /bad\.yaml:3: not valid YAML/,
    );
    assert.match((await problems(file('bad.json', '{"listeners": [}')))[0]!, /bad\.json: not valid JSON/);
    assert.match(
      (await problems(file('typo.yml', 'listeners:\n  - port: 1\nmax_connections: 5\n')))[0]!,
      /typo\.yml: unknown setting "max_connections"/,
    );
  });

  it("the README's example configurations are valid as written", async () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const examples = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    assert.ok(examples.length >= 3, 'README has the schema, TLS and securing yaml blocks');
    const configs = [];
    for (const [i, example] of examples.entries())
      configs.push(await loadConfigFile(file(`readme-${i}.yaml`, example)));
    assert.equal(configs[0]?.listeners[1]?.protocol, 'ws');
    assert.equal(configs[0]?.listeners[0]?.maxConnections, 1000);
    const secured = configs.find((c) => c.aclFile !== undefined);
    assert.equal(secured?.listeners[1]?.passwordFile, '/etc/warden/passwd');
  });

  it('names a missing file', async () => {
    assert.match(
      (await problems(join(dir, 'nope.conf')))[0]!,
      /nope\.conf: cannot read the configuration file: no such file/,
    );
  });
});

describe('mosquitto.conf', () => {
  it('reads the directives warden has, listener by listener', async () => {
    const config = await loadConfigFile(
      file(
        'full.conf',
        [
          '# a Mosquitto 2.x configuration',
          'per_listener_settings true',
          'listener 1883 127.0.0.1',
          'max_connections 100',
          'allow_anonymous true',
          '',
          'listener 9001',
          'protocol websockets',
          'allow_anonymous false',
          'max_packet_size 65536',
          'max_inflight_messages 0',
          'max_queued_messages 500',
          'max_keepalive 120',
          'retain_available false',
          'sys_interval 30',
          'set_tcp_nodelay true',
          'max_qos 1',
          'max_topic_alias 5',
          'log_type all',
          'connection_messages true',
        ].join('\n'),
      ),
    );
    assert.deepEqual(config.listeners[0], {
      protocol: 'mqtt',
      host: '127.0.0.1',
      port: 1883,
      path: '/mqtt',
      maxConnections: 100,
      allowAnonymous: true,
      maxPendingConnects: 0,
      maxConnectionsPerAddress: 0,
    });
    assert.deepEqual(config.listeners[1], {
      protocol: 'ws',
      host: '0.0.0.0',
      port: 9001,
      path: '/mqtt',
      allowAnonymous: false,
      maxPendingConnects: 0,
      maxConnectionsPerAddress: 0,
    });
    assert.equal(config.allowAnonymous, false);
    assert.equal(config.maxPacketSize, 65536);
    assert.equal(config.maxInflight, 65535, '0 is "no limit"');
    assert.equal(config.receiveMaximum, 65535, 'and the Receive Maximum told to v5 clients');
    assert.equal(config.maxQueuedMessages, 500);
    assert.equal(config.maxKeepAlive, 120);
    assert.equal(config.retainAvailable, false);
    assert.equal(config.sysInterval, 30);
    assert.equal(config.tcpNoDelay, true);
    assert.equal(config.maxQos, 1);
    assert.equal(config.topicAliasMaximum, 5);
    assert.equal(config.logLevel, 'debug');
  });

  it('max_queued_bytes: no byte limit unless set, as in mosquitto', async () => {
    assert.equal((await loadConfigFile(file('q0.conf', 'listener 1883\n'))).maxQueuedBytes, 0);
    const set = await loadConfigFile(file('q1.conf', 'listener 1883\nmax_queued_bytes 5000\n'));
    assert.equal(set.maxQueuedBytes, 5000);
  });

  it("set_tcp_nodelay: Nagle's algorithm on unless set, as in mosquitto (warden's own schema turns it off)", async () => {
    assert.equal((await loadConfigFile(file('nd0.conf', 'listener 1883\n'))).tcpNoDelay, false);
    assert.equal(
      (await loadConfigFile(file('nd1.conf', 'listener 1883\nset_tcp_nodelay true\n'))).tcpNoDelay,
      true,
    );
    assert.equal(validateConfig({ listeners: [{ port: 1883 }] }).tcpNoDelay, true);
  });

  it('max_inflight_messages is also the Receive Maximum told to v5 clients, as in Mosquitto 2', async () => {
    const config = await loadConfigFile(file('inflight.conf', 'listener 1883\nmax_inflight_messages 10\n'));
    assert.equal(config.maxInflight, 10);
    assert.equal(config.receiveMaximum, 10);
  });

  it('password_file and acl_file: for every listener, or per listener with per_listener_settings', async () => {
    const global = await loadConfigFile(
      file('auth.conf', 'listener 1883\npassword_file /etc/w/passwd\nacl_file /etc/w/acl\nlistener 1884\n'),
    );
    assert.equal(global.passwordFile, '/etc/w/passwd');
    assert.equal(global.aclFile, '/etc/w/acl');
    assert.deepEqual(
      global.listeners.map((l) => l.passwordFile),
      [undefined, undefined],
    );
    const perListener = await loadConfigFile(
      file(
        'per-listener.conf',
        'per_listener_settings true\nlistener 1883\npassword_file /a\nlistener 1884\nacl_file /b\n',
      ),
    );
    assert.equal(perListener.passwordFile, undefined);
    assert.deepEqual(
      perListener.listeners.map((l) => [l.passwordFile, l.aclFile]),
      [
        ['/a', undefined],
        [undefined, '/b'],
      ],
    );
  });

  it('log_type: the most verbose type given sets the level', async () => {
    const level = async (types: string[]) =>
      (await loadConfigFile(file('log.conf', types.map((t) => `log_type ${t}`).join('\n')))).logLevel;
    assert.equal(await level([]), 'info');
    assert.equal(await level(['error']), 'error');
    assert.equal(await level(['error', 'warning']), 'warn');
    assert.equal(await level(['none']), 'silent');
    assert.equal(await level(['warning', 'debug', 'error']), 'debug');
  });

  it('without any listener: loopback 1883 with anonymous clients, as Mosquitto 2 "local only" mode', async () => {
    const config = await loadConfigFile(file('empty.conf', '# nothing\nsys_interval 5\n'));
    assert.deepEqual(
      config.listeners.map((l) => [l.host, l.port]),
      [['127.0.0.1', 1883]],
    );
    assert.equal(config.allowAnonymous, true);
  });

  it('port and bind_address make the default listener, before the others', async () => {
    const config = await loadConfigFile(
      file('old.conf', 'listener 8883\nport 1884\nbind_address 127.0.0.2\n'),
    );
    assert.deepEqual(
      config.listeners.map((l) => `${l.host}:${l.port}`),
      ['127.0.0.2:1884', '0.0.0.0:8883'],
    );
  });

  it('names file:line of unknown, unsupported and malformed directives, all at once', async () => {
    const path = file(
      'bad.conf',
      [
        'listener 1883',
        'allow_anonymus true',
        'auth_plugin /usr/lib/auth.so',
        'max_keepalive sixty',
        'retain_available yes',
        'listener',
        'protocol coap',
        'max_queued_messages 0',
      ].join('\n'),
    );
    assert.deepEqual(await problems(path), [
      `${path}:2: unknown directive "allow_anonymus"`,
      `${path}:3: auth_plugin: warden loads no plugins: pass authentication hooks to createBroker() from warden/broker`,
      `${path}:4: max_keepalive: "sixty" is not a whole number`,
      `${path}:5: retain_available: "yes" is not true or false`,
      `${path}:6: listener takes 1 or 2 values, got 0`,
      `${path}:7: protocol: "coap" is not a protocol warden serves (mqtt, websockets)`,
      `${path}:8: max_queued_messages: 0 (no limit) is not supported: warden keeps every queue bounded; give a number`,
    ]);
  });

  it('directives that tune what warden does otherwise: accepted, each with a note saying what it does instead', async () => {
    const config = await loadConfigFile(
      file(
        'tuned.conf',
        [
          'listener 1883',
          'max_inflight_bytes 1000000',
          'memory_limit 0',
          'log_timestamp true',
          'websockets_log_level 0',
        ].join('\n'),
      ),
    );
    assert.deepEqual(
      config.notes.map((n) => n.replace(/^.*tuned\.conf:/, '')),
      [
        '2: max_inflight_bytes has no effect: warden bounds in-flight messages by count (max_inflight_messages)',
        '3: memory_limit has no effect: warden has no process-wide memory cap; bound it with the service manager (systemd MemoryMax)',
        '4: log_timestamp has no effect: every warden log line is JSON with its "time" (epoch ms)',
        '5: websockets_log_level has no effect: WebSocket events are logged at the broker log level (log_type)',
      ],
    );
  });

  it('plugins and the bridge directives warden does not carry yet are refused by name', async () => {
    const path = file(
      'refused.conf',
      [
        'listener 1883',
        'plugin /usr/lib/mosquitto_dynamic_security.so',
        'plugin_opt_config_file /x.json',
        'connection upstream',
        'local_username bridge',
        'message_size_limit 100',
      ].join('\n'),
    );
    const found = await problems(path);
    assert.match(
      found[0]!,
      /refused\.conf:2: plugin: warden loads no plugins: authentication and authorization hooks .* dynamic security is password_file \+ acl_file/,
    );
    assert.match(found[1]!, /refused\.conf:3: plugin_opt_config_file: warden loads no plugins/);
    assert.match(found[2]!, /refused\.conf:5: local_username: not supported by warden bridges yet/);
    assert.match(
      found[3]!,
      /refused\.conf:6: message_size_limit: deprecated in Mosquitto 2: use max_packet_size/,
    );
  });

  // Every directive of mosquitto.conf(5) as Debian ships it (Mosquitto 2.0.11).
  const MOSQUITTO_2_0_DIRECTIVES =
    `acl_file address allow_anonymous allow_duplicate_messages allow_zero_length_clientid
    auth_plugin auth_plugin_deny_special_chars auto_id_prefix autosave_interval autosave_on_changes bind_address
    bind_interface bridge_alpn bridge_attempt_unsubscribe bridge_bind_address bridge_cafile bridge_capath
    bridge_certfile bridge_identity bridge_insecure bridge_keyfile bridge_max_packet_size bridge_outgoing_retain
    bridge_protocol_version bridge_psk bridge_require_ocsp bridge_tls_version cafile capath certfile
    check_retain_source ciphers ciphers_tls1.3 cleansession clientid_prefixes connection connection_messages crlfile
    dhparamfile http_dir idle_timeout include_dir keepalive_interval keyfile listener local_cleansession
    local_clientid local_password local_username log_dest log_facility log_timestamp log_timestamp_format log_type
    max_connections max_inflight_bytes max_inflight_messages max_keepalive max_packet_size max_qos max_queued_bytes
    max_queued_messages max_topic_alias memory_limit message_size_limit mount_point notification_topic notifications
    notifications_local_only password_file per_listener_settings persistence persistence_file persistence_location
    persistent_client_expiration pid_file port protocol psk_file psk_hint queue_qos0_messages remote_clientid
    remote_password remote_username require_certificate restart_timeout retain_available round_robin set_tcp_nodelay
    socket_domain start_type sys_interval threshold tls_engine tls_engine_kpass_sha1 tls_keyform tls_version topic
    try_private upgrade_outgoing_qos use_identity_as_username use_subject_as_username use_username_as_clientid user
    websockets_headers_size websockets_log_level`.split(/\s+/);

  it('knows every directive of mosquitto.conf(5): none of them is an "unknown directive"', async () => {
    const path = file('every.conf', MOSQUITTO_2_0_DIRECTIVES.map((d) => `${d} x`).join('\n'));
    const unknown = (await problems(path)).filter((p) => p.includes('unknown directive'));
    assert.deepEqual(unknown, []);
  });

  it('persistent_client_expiration, queue_qos0_messages, check_retain_source, use_username_as_clientid, socket_domain, dhparamfile', async () => {
    const config = await loadConfigFile(
      file(
        'more.conf',
        [
          'persistent_client_expiration 14d',
          'queue_qos0_messages true',
          'check_retain_source false',
          'use_username_as_clientid true',
          'listener 1883',
          'socket_domain ipv6',
          'listener 1884 127.0.0.1',
          'socket_domain ipv6',
          'listener 8883',
          'certfile /etc/ssl/server.crt',
          'keyfile /etc/ssl/server.key',
          'dhparamfile /etc/ssl/dhparam.pem',
        ].join('\n'),
      ),
    );
    assert.equal(config.maxSessionExpiry, 14 * 86_400);
    assert.equal(config.queueQos0Messages, true);
    assert.equal(config.checkRetainSource, false);
    assert.equal(config.useUsernameAsClientId, true);
    assert.deepEqual(
      config.listeners.map((l) => l.host),
      ['::', '127.0.0.1', '0.0.0.0'],
      'socket_domain leaves a listener with an address alone',
    );
    assert.equal(config.listeners[2]!.tls?.dhparamFile, '/etc/ssl/dhparam.pem');
    for (const [text, seconds] of [
      ['2h', 7200],
      ['1w', 604_800],
      ['2m', 2 * 2_592_000],
      ['1y', 31_536_000],
    ] as const) {
      const c = await loadConfigFile(file('d.conf', `listener 1883\npersistent_client_expiration ${text}\n`));
      assert.equal(c.maxSessionExpiry, seconds, text);
    }
    const path = file(
      'bad-duration.conf',
      'listener 1883\npersistent_client_expiration 14 days\nsocket_domain ipx\n',
    );
    assert.deepEqual(await problems(path), [
      `${path}:2: persistent_client_expiration takes 1 value, got 2`,
      `${path}:3: socket_domain: "ipx" is not ipv4 or ipv6`,
    ]);
  });

  it('the rest is refused with what to use instead, or noted', async () => {
    const path = file(
      'rest.conf',
      [
        'listener 1883',
        'http_dir /var/www',
        'bind_interface eth0',
        'tls_engine pkcs11',
        'tls_keyform engine',
        'enable_control_api true',
        'accept_protocol_versions 4,5',
      ].join('\n'),
    );
    const found = await problems(path);
    assert.match(found[0]!, /:2: http_dir: the WebSocket listener serves MQTT only/);
    assert.match(found[1]!, /:3: bind_interface: bind to the interface's address instead/);
    assert.match(found[2]!, /:4: tls_engine: OpenSSL engines .* PKCS#12/);
    assert.match(found[3]!, /:5: tls_keyform: keys are read as PEM/);
    assert.match(found[4]!, /:6: enable_control_api: a Mosquitto 2.1 directive/);
    assert.match(found[5]!, /:7: accept_protocol_versions: a Mosquitto 2.1 directive/);
    const noted = await loadConfigFile(
      file('noted.conf', 'listener 1883\nallow_duplicate_messages true\nwebsockets_headers_size 4096\n'),
    );
    assert.match(
      noted.notes[0]!,
      /allow_duplicate_messages has no effect: a message matching several .* once, at the highest QoS/,
    );
    assert.match(noted.notes[1]!, /websockets_headers_size has no effect: Node's HTTP parser/);
  });

  it('auto_id_prefix and allow_zero_length_clientid', async () => {
    const config = await loadConfigFile(
      file('ids.conf', 'listener 1883\nauto_id_prefix dev-\nallow_zero_length_clientid false\n'),
    );
    assert.equal(config.autoIdPrefix, 'dev-');
    assert.equal(config.allowZeroLengthClientId, false);
  });

  it('maps an out-of-range value back to the line that set it', async () => {
    const path = file('range.conf', 'sys_interval 10\nlistener 1883\nlistener 70000\nmax_qos 3\n');
    const found = await problems(path);
    assert.equal(found.length, 2, found.join('\n'));
    assert.match(found[0]!, new RegExp(`^${path}:3: listeners\\[1\\]\\.port: .*65535`));
    assert.match(found[1]!, new RegExp(`^${path}:4: maxQos: `));
  });
});
