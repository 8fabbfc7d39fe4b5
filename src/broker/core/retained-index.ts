// Retained messages by topic level: a new subscription walks only the branches its filter can
// match, so it costs what it matches, not what the broker holds [MQTT-3.3.1-10]. The order they
// are sent in is mosquitto 2.0's: each level in the order its topics first appeared, a topic
// before the ones below it, and the parent a "#" also matches ("a" for "a/#") last.

import type { Message } from './message.js';

interface Node {
  /** NO_CHILDREN until the first child: most nodes are leaves (100,000 retained topics, 100,000 leaves). */
  children: Map<string, Node>;
  message: Message | undefined;
}

/** Shared by every leaf and never written to: set() gives a node its own map first. */
const NO_CHILDREN: ReadonlyMap<string, Node> = new Map();

const newNode = (): Node => ({ children: NO_CHILDREN as Map<string, Node>, message: undefined });

/** What a retained message counts for against maxRetainedBytes: its topic and payload. */
const weight = (message: Message) => message.topic.length + message.payload.length;

export class RetainedIndex {
  readonly #root = newNode();
  #size = 0;
  #bytes = 0;

  get size(): number {
    return this.#size;
  }

  /** Topics and payloads held, bytes (what maxRetainedBytes bounds). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether the topic holds a retained message now, and its size in bytes (0 when none). */
  sizeOf(topic: string): number {
    let node: Node | undefined = this.#root;
    for (const level of topic.split('/')) {
      node = node.children.get(level);
      if (node === undefined) return 0;
    }
    return node.message === undefined ? 0 : weight(node.message);
  }

  /** Replaces the retained message of its topic. */
  set(topic: string, message: Message): void {
    let node = this.#root;
    for (const level of topic.split('/')) {
      let child = node.children.get(level);
      if (child === undefined) {
        child = newNode();
        if (node.children === NO_CHILDREN) node.children = new Map();
        node.children.set(level, child);
      }
      node = child;
    }
    if (node.message === undefined) this.#size++;
    else this.#bytes -= weight(node.message);
    node.message = message;
    this.#bytes += weight(message);
  }

  /** Removes a topic's retained message and the branch that held only it. */
  delete(topic: string): boolean {
    const path: Node[] = [this.#root];
    const levels = topic.split('/');
    for (const level of levels) {
      const child = path[path.length - 1]!.children.get(level);
      if (child === undefined) return false;
      path.push(child);
    }
    const node = path[path.length - 1]!;
    if (node.message === undefined) return false;
    this.#bytes -= weight(node.message);
    node.message = undefined;
    this.#size--;
    for (let i = levels.length; i > 0; i--) {
      const n = path[i]!;
      if (n.message !== undefined || n.children.size > 0) break;
      path[i - 1]!.children.delete(levels[i - 1]!);
    }
    return true;
  }

  *values(): IterableIterator<Message> {
    const stack = [this.#root];
    for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
      if (node.message !== undefined) yield node.message;
      for (const child of node.children.values()) stack.push(child);
    }
  }

  /** Retained messages a (valid, non-shared) filter matches. */
  match(filter: string): Message[] {
    // Every subscription asks, and most brokers hold none or few.
    if (this.#size === 0) return [];
    const found: Message[] = [];
    const levels = filter.split('/');
    const collect = (node: Node): void => {
      if (node.message !== undefined) found.push(node.message);
      for (const child of node.children.values()) collect(child);
    };
    const visit = (node: Node, i: number): void => {
      if (i === levels.length) {
        if (node.message !== undefined) found.push(node.message);
        return;
      }
      const level = levels[i]!;
      // [MQTT-4.7.2-1]: a filter starting with a wildcard does not match topics starting with "$".
      const skip = (name: string) => i === 0 && name.startsWith('$');
      if (level === '#') {
        for (const [name, child] of node.children) if (!skip(name)) collect(child);
        // "a/#" matches "a" itself [MQTT-4.7.1-1]; sent after what is below it, as mosquitto does.
        if (node.message !== undefined && i > 0) found.push(node.message);
      } else if (level === '+') {
        for (const [name, child] of node.children) if (!skip(name)) visit(child, i + 1);
      } else {
        const child = node.children.get(level);
        if (child !== undefined) visit(child, i + 1);
      }
    };
    visit(this.#root, 0);
    return found;
  }
}
