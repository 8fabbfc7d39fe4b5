// Topic trie: one node per filter level, '+' as the node's `plus` child, '#' held by the level
// above it. A publish walks only the branches its levels can match, never the whole subscription list.

// Each map is made when first needed: with 100,000 device topics (`devices/<id>/cmd`) most nodes
// have children only or subscriptions only, and three maps per node were most of a
// subscription's memory and of the garbage collector's work while subscribing.
interface TrieNode<K, V> {
  children?: Map<string, TrieNode<K, V>>;
  /**
   * The '+' child, out of `children`: a publish asks every level it walks for it, and a miss in
   * a map of 100,000 device ids costs a cache miss each time.
   */
  plus?: TrieNode<K, V>;
  /** Subscriptions whose filter ends at this node. */
  exact?: Map<K, V>;
  /** Subscriptions whose filter is this node's path followed by '#'. */
  multi?: Map<K, V>;
}

const newNode = <K, V>(): TrieNode<K, V> => ({
  children: undefined,
  plus: undefined,
  exact: undefined,
  multi: undefined,
});

const isEmpty = (node: TrieNode<unknown, unknown>) =>
  !node.children?.size && node.plus === undefined && !node.exact?.size && !node.multi?.size;

export class SubscriptionTree<K, V> {
  readonly #root: TrieNode<K, V> = newNode();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Adds or replaces the subscription of `key` to a valid filter; true when it is new. */
  add(filter: string, key: K, value: V): boolean {
    const levels = filter.split('/');
    const hash = levels[levels.length - 1] === '#';
    let node = this.#root;
    for (let i = 0; i < levels.length - (hash ? 1 : 0); i++) {
      const level = levels[i]!;
      if (level === '+') {
        node.plus ??= newNode();
        node = node.plus;
        continue;
      }
      node.children ??= new Map();
      const children = node.children;
      let child = children.get(level);
      if (child === undefined) {
        child = newNode();
        children.set(level, child);
      }
      node = child;
    }
    if (hash) node.multi ??= new Map();
    else node.exact ??= new Map();
    const target = (hash ? node.multi : node.exact)!;
    const isNew = !target.has(key);
    target.set(key, value);
    if (isNew) this.#size++;
    return isNew;
  }

  /** Removes the subscription of `key` to `filter`; true when there was one. Prunes empty branches. */
  remove(filter: string, key: K): boolean {
    const levels = filter.split('/');
    const hash = levels[levels.length - 1] === '#';
    const path: Array<[TrieNode<K, V>, string]> = [];
    let node = this.#root;
    for (let i = 0; i < levels.length - (hash ? 1 : 0); i++) {
      const child = levels[i] === '+' ? node.plus : node.children?.get(levels[i]!);
      if (child === undefined) return false;
      path.push([node, levels[i]!]);
      node = child;
    }
    if (!(hash ? node.multi : node.exact)?.delete(key)) return false;
    this.#size--;
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, level] = path[i]!;
      if (level === '+') {
        if (!isEmpty(parent.plus!)) break;
        parent.plus = undefined;
        continue;
      }
      if (!isEmpty(parent.children!.get(level)!)) break;
      parent.children!.delete(level);
    }
    return true;
  }

  /**
   * Calls visit once per matching (value, key), in Map.forEach's order of arguments so that it is
   * handed to forEach as it is: iterating a Map with for-of makes an entry array per subscription,
   * which on a fan-out to thousands was most of a publish's garbage. A key with several matching
   * filters is visited once per filter.
   */
  match(topic: string, visit: (value: V, key: K) => void): void {
    const levels = topic.split('/');
    // [MQTT-4.7.2-1]: wildcards in the first level do not match topics starting with '$'.
    const dollar = topic.charCodeAt(0) === 0x24;
    this.#walk(this.#root, levels, 0, dollar, visit);
  }

  #walk(
    node: TrieNode<K, V>,
    levels: string[],
    i: number,
    dollar: boolean,
    visit: (value: V, key: K) => void,
  ): void {
    const wildcardsAllowed = !(dollar && i === 0);
    const multi = node.multi;
    if (wildcardsAllowed && multi !== undefined && multi.size > 0) multi.forEach(visit);
    if (i === levels.length) {
      const exact = node.exact;
      if (exact !== undefined && exact.size > 0) exact.forEach(visit);
      return;
    }
    const child = node.children?.get(levels[i]!);
    if (child !== undefined) this.#walk(child, levels, i + 1, dollar, visit);
    const plus = node.plus;
    if (plus !== undefined && wildcardsAllowed) this.#walk(plus, levels, i + 1, dollar, visit);
  }
}
