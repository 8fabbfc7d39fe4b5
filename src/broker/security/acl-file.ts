// Mosquitto's ACL file: `user <name>` sections of `topic [read|write|readwrite|deny] <topic>`
// lines, `pattern` lines for every client with %u (user name) and %c (client id), and the lines
// before the first `user` for anonymous clients. Deny by default; a matching deny wins.

import { readFile } from 'node:fs/promises';
import { topicMatches, validateTopicFilter } from '../../protocol/index.js';

type Access = 'read' | 'write' | 'readwrite' | 'deny';

export interface Rule {
  readonly access: Access;
  readonly topic: string;
}

export interface AclRules {
  /** Lines before any `user`: for clients without a user name. */
  readonly anonymous: readonly Rule[];
  readonly users: ReadonlyMap<string, readonly Rule[]>;
  /** `pattern` lines, for every client; %u lines skip clients without a user name. */
  readonly patterns: readonly Rule[];
}

export class AclSyntaxError extends Error {}

/** Parses the file's text; errors name the file and the line. */
export function parseAclFile(text: string, file = 'ACL file'): AclRules {
  const anonymous: Rule[] = [];
  const users = new Map<string, Rule[]>();
  const patterns: Rule[] = [];
  let current: Rule[] = anonymous;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fail = (message: string) => {
      throw new AclSyntaxError(`${file}:${index + 1}: ${message}: "${line}"`);
    };
    const [keyword, ...rest] = line.split(/\s+/);
    if (keyword === 'user') {
      // Mosquitto takes the rest of the line, so user names may hold spaces.
      const name = line.slice('user'.length).trim();
      if (name === '') fail('a user line needs a user name');
      current = users.get(name) ?? [];
      users.set(name, current);
      return;
    }
    if (keyword !== 'topic' && keyword !== 'pattern') fail('expected user, topic or pattern');
    const access = ['read', 'write', 'readwrite', 'deny'].includes(rest[0] ?? '')
      ? (rest.shift() as Access)
      : 'readwrite';
    const topic = rest.join(' ');
    if (topic === '') fail(`a ${keyword} line needs a topic`);
    const problem = validateTopicFilter(topic);
    if (problem) fail(`bad topic: ${problem}`);
    (keyword === 'pattern' ? patterns : current).push({ access, topic });
  });
  return { anonymous, users, patterns };
}

export type AclAction = 'read' | 'write' | 'subscribe';

/**
 * Whether the client may write (publish) to a topic, read (receive) from one, or subscribe to a
 * filter: a filter is allowed when a readable ACL topic covers every topic it can match.
 */
export function aclAllows(
  rules: AclRules,
  action: AclAction,
  topic: string,
  username: string | undefined,
  clientId: string,
): boolean {
  return rulesAllow(applicableRules(rules, username, clientId), action, topic);
}

/** The rules that apply to one client, patterns substituted: worth keeping per client. */
export function applicableRules(
  rules: AclRules,
  username: string | undefined,
  clientId: string,
): readonly Rule[] {
  const own = username === undefined ? rules.anonymous : (rules.users.get(username) ?? []);
  const applicable: Rule[] = [...own];
  for (const p of rules.patterns) {
    if (p.topic.includes('%u') && username === undefined) continue;
    applicable.push({ access: p.access, topic: substitute(p.topic, username ?? '', clientId) });
  }
  return applicable;
}

export function rulesAllow(applicable: readonly Rule[], action: AclAction, topic: string): boolean {
  // A subscription is judged by the topics it can match; the delivery check (read) then refuses
  // single messages a partial deny covers, as Mosquitto does.
  const applies = (rule: Rule) =>
    action === 'subscribe' ? covers(rule.topic, topic) : topicMatches(rule.topic, topic);
  // Mosquitto: a deny that applies refuses, whatever else grants.
  if (applicable.some((r) => r.access === 'deny' && applies(r))) return false;
  const needed = action === 'write' ? 'write' : 'read';
  return applicable.some((r) => (r.access === needed || r.access === 'readwrite') && applies(r));
}

/** %u and %c in a pattern; a substituted value holding + # / would widen the rule, so it never matches. */
function substitute(pattern: string, username: string, clientId: string): string {
  const safe = (value: string) => (/[+#/]/.test(value) ? '\u0000' : value);
  return pattern.replace(/%u/g, safe(username)).replace(/%c/g, safe(clientId));
}

/** Whether every topic `filter` can match is matched by `acl` (the subscription is a subset). */
function covers(acl: string, filter: string): boolean {
  const a = acl.split('/');
  const f = filter.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = a[i];
    if (level === '#') return true;
    if (level === undefined) return false;
    const want = f[i]!;
    if (want === '#') return false; // only an ACL '#' at this level covers it
    if (level === '+') continue;
    if (want === '+' || level !== want) return false;
  }
  return a.length === f.length || (a.length === f.length + 1 && a[f.length] === '#');
}

/** One client's applicable rules, and the answers already given per action and topic (bounded). */
class ClientAcl {
  /** Made per action on first use: a subscriber never publishes, a sensor never reads. */
  readonly #answers: Partial<Record<AclAction, Map<string, boolean>>> = {};

  constructor(private readonly rules: readonly Rule[]) {}

  allows(action: AclAction, topic: string): boolean {
    this.#answers[action] ??= new Map();
    const answers = this.#answers[action];
    let allowed = answers.get(topic);
    if (allowed === undefined) {
      allowed = rulesAllow(this.rules, action, topic);
      if (answers.size >= 1024) answers.clear();
      answers.set(topic, allowed);
    }
    return allowed;
  }
}

/** An ACL file on disk: reloadable, with each client's applicable rules kept until the next reload. */
export class AclFile {
  #rules: AclRules;
  #generation = 0;
  readonly #perClient = new Map<string, ClientAcl>();

  private constructor(
    readonly path: string,
    rules: AclRules,
  ) {
    this.#rules = rules;
  }

  static async load(path: string): Promise<AclFile> {
    return new AclFile(path, await AclFile.#read(path));
  }

  static async #read(path: string): Promise<AclRules> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new AclSyntaxError(`ACL file ${path}: ${code === 'ENOENT' ? 'no such file' : String(error)}`);
    }
    return parseAclFile(text, `ACL file ${path}`);
  }

  /** Reads the file again; on an error the old rules stay and the error is thrown. */
  async reload(): Promise<void> {
    this.#rules = await AclFile.#read(this.path);
    this.#perClient.clear();
    this.#generation++;
  }

  /**
   * The read check for one client's deliveries: its rules bound once, and the answer per topic
   * remembered (a bounded memory), so a delivery costs a Map lookup; a reload starts it over.
   */
  reader(username: string | undefined, clientId: string): (topic: string) => boolean {
    let generation = -1;
    let client: ClientAcl | undefined;
    return (topic) => {
      if (client === undefined || generation !== this.#generation) {
        generation = this.#generation;
        client = new ClientAcl(applicableRules(this.#rules, username, clientId));
      }
      return client.allows('read', topic);
    };
  }

  /** Publish and subscribe checks: publishers repeat their topics, so answers are remembered per client. */
  allows(action: AclAction, topic: string, username: string | undefined, clientId: string): boolean {
    const key = `${username ?? ''}\u0000${username === undefined ? 'anonymous' : 'user'}\u0000${clientId}`;
    let client = this.#perClient.get(key);
    if (client === undefined) {
      client = new ClientAcl(applicableRules(this.#rules, username, clientId));
      if (this.#perClient.size >= 10_000) this.#perClient.clear(); // bounded; rebuilt on demand
      this.#perClient.set(key, client);
    }
    return client.allows(action, topic);
  }
}
