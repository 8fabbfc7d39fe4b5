// Topic names and filters per MQTT 5.0 section 4.7 (and 4.8.2 shared subscriptions): validation
// that returns the problem in words, and matching of one filter against one name.

/** Why a topic name or filter is refused, or undefined when it is valid. */
export type TopicProblem = string | undefined;

const MAX_TOPIC_BYTES = 65_535;
// In a `u` regex a valid surrogate pair is one code point, so this finds only lone surrogates.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function commonProblem(topic: string, what: string): TopicProblem {
  if (topic.length === 0) return `${what} is empty [MQTT-4.7.3-1]`;
  if (topic.includes('\u0000')) return `${what} contains U+0000 [MQTT-4.7.3-2]`;
  if (LONE_SURROGATE.test(topic)) return `${what} contains an unpaired surrogate [MQTT-1.5.4-1]`;
  if (topic.length > MAX_TOPIC_BYTES / 3 && Buffer.byteLength(topic) > MAX_TOPIC_BYTES) {
    return `${what} is longer than 65535 bytes [MQTT-4.7.3-3]`;
  }
  return undefined;
}

/** A PUBLISH topic name: non-empty, no wildcards [MQTT-3.3.2-2]. */
export function validateTopicName(name: string): TopicProblem {
  const problem = commonProblem(name, 'topic name');
  if (problem) return problem;
  if (name.includes('+') || name.includes('#'))
    return `topic name "${name}" contains a wildcard [MQTT-3.3.2-2]`;
  return undefined;
}

/** A SUBSCRIBE/UNSUBSCRIBE filter, including `$share/group/filter`. */
export function validateTopicFilter(filter: string): TopicProblem {
  const problem = commonProblem(filter, 'topic filter');
  if (problem) return problem;
  const shared = parseSharedSubscription(filter);
  if (shared === null) {
    return `shared subscription "${filter}" needs $share/<group>/<filter> with a group free of / + # [MQTT-4.8.2-1]`;
  }
  return wildcardProblem(shared ? shared.topicFilter : filter);
}

function wildcardProblem(filter: string): TopicProblem {
  // Most filters name one topic exactly (`devices/<id>/cmd`): nothing to split.
  if (!filter.includes('+') && !filter.includes('#')) return undefined;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      return `"#" must be the last level on its own in "${filter}" [MQTT-4.7.1-1]`;
    }
    if (level.includes('+') && level !== '+')
      return `"+" must fill a whole level in "${filter}" [MQTT-4.7.1-2]`;
  }
  return undefined;
}

export interface SharedSubscription {
  readonly shareName: string;
  readonly topicFilter: string;
}

/** `$share/group/filter` -> its parts; undefined when not shared; null when shared but malformed. */
export function parseSharedSubscription(filter: string): SharedSubscription | undefined | null {
  if (!filter.startsWith('$share/')) return undefined;
  const slash = filter.indexOf('/', 7);
  if (slash === -1) return null;
  const shareName = filter.slice(7, slash);
  const topicFilter = filter.slice(slash + 1);
  if (
    shareName.length === 0 ||
    shareName.includes('+') ||
    shareName.includes('#') ||
    topicFilter.length === 0
  ) {
    return null;
  }
  return { shareName, topicFilter };
}

/** Whether a (valid, non-shared) filter matches a (valid) topic name. */
export function topicMatches(filter: string, name: string): boolean {
  // [MQTT-4.7.2-1]: a filter starting with a wildcard does not match names starting with "$".
  if (name.charCodeAt(0) === 0x24) {
    const first = filter.charCodeAt(0);
    if (first === 0x2b || first === 0x23) return false;
  }
  const f = filter.split('/');
  const n = name.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true; // "a/#" also matches "a" [MQTT-4.7.1-1]
    if (i >= n.length) return false;
    if (level !== '+' && level !== n[i]) return false;
  }
  return f.length === n.length;
}
