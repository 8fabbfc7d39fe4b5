// A session's waiting QoS 1/2 messages, oldest first, with the payload bytes they hold: what
// max_queued_bytes bounds alongside max_queued_messages.

/** A waiting delivery: all the queue needs to know of it is its payload's size. */
interface Sized {
  readonly message: { readonly payload: Uint8Array };
}

export class DeliveryQueue<Item extends Sized> {
  readonly #items: Item[] = [];
  /** Payload bytes of the messages waiting (as Mosquitto counts queued bytes). */
  bytes = 0;

  get length(): number {
    return this.#items.length;
  }

  push(item: Item): void {
    this.#items.push(item);
    this.bytes += item.message.payload.length;
  }

  shift(): Item | undefined {
    const item = this.#items.shift();
    if (item !== undefined) this.bytes -= item.message.payload.length;
    return item;
  }

  [Symbol.iterator](): IterableIterator<Item> {
    return this.#items[Symbol.iterator]();
  }
}
