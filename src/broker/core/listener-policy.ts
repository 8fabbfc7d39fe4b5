// What one listener (telemetry channel) asks of the clients that connect through it: how many may
// be connected at once, and whether a client without credentials is let in. The edge owns the
// listener; the core only reads its policy and keeps its count.

export interface ListenerPolicy {
  /** The listener's URL, for logs and refusals (set once the listener is bound). */
  name: string;
  /** Clients connected through this listener at once; Infinity for no limit (Mosquitto's max_connections). */
  readonly maxConnections: number;
  /** Whether a client that presents no credentials may connect (Mosquitto's allow_anonymous). */
  readonly allowAnonymous: boolean;
  /** Clients connected through this listener now; the core keeps it. */
  connected: number;
}

export function listenerPolicy(
  name: string,
  options: { maxConnections?: number; allowAnonymous?: boolean } = {},
): ListenerPolicy {
  return {
    name,
    maxConnections: options.maxConnections ?? Number.POSITIVE_INFINITY,
    allowAnonymous: options.allowAnonymous ?? true,
    connected: 0,
  };
}
