// Topic trie: one node per filter level, '+' as the node's `plus` child, '#' held by the level
// above it. A publish walks only the branches its levels can match, never the whole subscription list.

// Each map is made when first needed, and a node with one child or one subscriber keeps it in
// its own fields: with 100,000 device topics (`devices/<id>/cmd`) each device's nodes have one
// child and one subscriber, and a Map for each was most of a subscription's memory and of the
// garbage collector's work while subscribing.
interface TrieNode<K, V> {
  /** The only child while there is one (`level` its name); `children` holds them past one. */
  level?: string;
  child?: TrieNode<K, V>;
  children?: Map<string, TrieNode<K, V>>;
  /**
   * The '+' child, out of `children`: a publish asks every level it walks for it, and a miss in
   * a map of 100,000 device ids costs a cache miss each time.
   */
  plus?: TrieNode<K, V>;
  /** Subscriptions whose filter ends at this node. */
  exact?: Subscribers<K, V>;
  /** Subscriptions whose filter is this node's path followed by '#'. */
  multi?: Subscribers<K, V>;
}

/** One subscriber of a filter, until a second one makes it a Map. */
class One<K, V> {
  constructor(
    readonly key: K,
    public value: V,
  ) {}
}
type Subscribers<K, V> = One<K, V> | Map<K, V>;

const newNode = <K, V>(): TrieNode<K, V> => ({
  level: undefined,
  child: undefined,
  children: undefined,
  plus: undefined,
  exact: undefined,
  multi: undefined,
});

const childOf = <K, V>(node: TrieNode<K, V>, level: string): TrieNode<K, V> | undefined =>
  node.child !== undefined && node.level === level ? node.child : node.children?.get(level);

function addChild<K, V>(node: TrieNode<K, V>, level: string, child: TrieNode<K, V>): void {
  if (node.child === undefined && node.children === undefined) {
    node.level = level;
    node.child = child;
    return;
  }
  if (node.children === undefined) {
    node.children = new Map([[node.level!, node.child!]]);
    node.level = undefined;
    node.child = undefined;
  }
  node.children.set(level, child);
}

function deleteChild<K, V>(node: TrieNode<K, V>, level: string): void {
  if (node.child !== undefined && node.level === level) {
    node.level = undefined;
    node.child = undefined;
  } else node.children?.delete(level);
}

/** `subscribers` with key's value set, and whether the key is new there. */
function withSubscriber<K, V>(subscribers: Subscribers<K, V> | undefined, key: K, value: V) {
  if (subscribers === undefined) return { subscribers: new One(key, value), isNew: true };
  if (subscribers instanceof One) {
    if (subscribers.key === key) {
      subscribers.value = value;
      return { subscribers, isNew: false };
    }
    return {
      subscribers: new Map([
        [subscribers.key, subscribers.value],
        [key, value],
      ]),
      isNew: true,
    };
  }
  const isNew = !subscribers.has(key);
  subscribers.set(key, value);
  return { subscribers, isNew };
}

/** `subscribers` without key (undefined when none is left), or false when key was not there. */
function withoutSubscriber<K, V>(
  subscribers: Subscribers<K, V> | undefined,
  key: K,
): Subscribers<K, V> | undefined | false {
  if (subscribers instanceof One) return subscribers.key === key ? undefined : false;
  if (subscribers === undefined || !subscribers.delete(key)) return false;
  return subscribers.size > 0 ? subscribers : undefined;
}

function visitAll<K, V>(subscribers: Subscribers<K, V> | undefined, visit: (value: V, key: K) => void): void {
  if (subscribers instanceof One) visit(subscribers.value, subscribers.key);
  else if (subscribers !== undefined) subscribers.forEach(visit);
}

const isEmpty = (node: TrieNode<unknown, unknown>) =>
  node.child === undefined &&
  !node.children?.size &&
  node.plus === undefined &&
  node.exact === undefined &&
  node.multi === undefined;

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
      let child = childOf(node, level);
      if (child === undefined) {
        child = newNode();
        addChild(node, level, child);
      }
      node = child;
    }
    const { subscribers, isNew } = withSubscriber(hash ? node.multi : node.exact, key, value);
    if (hash) node.multi = subscribers;
    else node.exact = subscribers;
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
      const child = levels[i] === '+' ? node.plus : childOf(node, levels[i]!);
      if (child === undefined) return false;
      path.push([node, levels[i]!]);
      node = child;
    }
    const left = withoutSubscriber(hash ? node.multi : node.exact, key);
    if (left === false) return false;
    if (hash) node.multi = left;
    else node.exact = left;
    this.#size--;
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, level] = path[i]!;
      if (level === '+') {
        if (!isEmpty(parent.plus!)) break;
        parent.plus = undefined;
        continue;
      }
      if (!isEmpty(childOf(parent, level)!)) break;
      deleteChild(parent, level);
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
    if (wildcardsAllowed) visitAll(node.multi, visit);
    if (i === levels.length) {
      visitAll(node.exact, visit);
      return;
    }
    const child = childOf(node, levels[i]!);
    if (child !== undefined) this.#walk(child, levels, i + 1, dollar, visit);
    const plus = node.plus;
    if (plus !== undefined && wildcardsAllowed) this.#walk(plus, levels, i + 1, dollar, visit);
  }
}
