// The broker's limit on topic depth (Mosquitto refuses more than 200 separators, so 201 levels): a deep topic costs
// a trie node per level, so a hostile client must not choose the depth.

/** True when `topic` has more than `max` levels; cheap for the common short topic. */
export function exceedsTopicLevels(topic: string, max: number): boolean {
  // n levels need n - 1 separators, so a topic shorter than max cannot exceed it.
  if (topic.length < max) return false;
  let levels = 1;
  for (let i = topic.indexOf('/'); i !== -1; i = topic.indexOf('/', i + 1)) {
    if (++levels > max) return true;
  }
  return false;
}
