// Counters the broker keeps for $SYS and metrics; plain numbers, bumped where things happen.

export interface BrokerStats {
  /** Packets of any type, as Mosquitto's $SYS/broker/messages/received and /sent. */
  packetsReceived: number;
  packetsSent: number;
  publishReceived: number;
  publishSent: number;
  /** The same, by QoS (index 0, 1, 2). */
  publishReceivedByQos: [number, number, number];
  publishSentByQos: [number, number, number];
  bytesReceived: number;
  bytesSent: number;
  /** Clients past CONNECT now, and the most there have been at once. */
  clientsConnected: number;
  clientsMaximum: number;
  /** QoS 1/2 messages dropped because a session's queue was full. */
  messagesDroppedQueueFull: number;
  /** QoS 0 messages dropped because the subscriber's connection was not taking them fast enough. */
  messagesDroppedSlowConsumer: number;
  /** Messages discarded because they exceeded the client's Maximum Packet Size. */
  messagesDroppedTooLarge: number;
  messagesExpired: number;
  /** Messages published where no subscription matched. */
  messagesNoSubscribers: number;
  /** CONNECTs answered with a refusal. */
  connectionsRefused: number;
  /** CONNECTs whose credentials were refused (a subset of connectionsRefused). */
  loginFailures: number;
  /** The same by listener, then by reason (the refusal's reason code, in words). */
  loginFailuresByListener: Record<string, Record<string, number>>;
  /** PUBLISHes and SUBSCRIBE filters refused by authorization, and deliveries withheld by it. */
  authorizationDenials: number;
  authorizationDenialsByAction: { publish: number; subscribe: number; receive: number };
  /** Store transactions committed, and those that failed (their acknowledgements withheld). */
  storeCommits: number;
  storeWriteFailures: number;
  /** Subscriptions and retained messages refused by their limits (maxSubscriptionsPerClient, maxRetained*). */
  quotaRefusals: { subscriptions: number; retained: number };
  /** Connections the transport refused before MQTT, by reason (TLS: "unknown CA", "time-out", ...). */
  handshakeFailures: Record<string, number>;
  /** The same by listener URL, then by reason. */
  handshakeFailuresByListener: Record<string, Record<string, number>>;
  /** TLS handshakes that ended with the client admitted, by listener URL. */
  tlsHandshakes: Record<string, number>;
}

export function newBrokerStats(): BrokerStats {
  return {
    packetsReceived: 0,
    packetsSent: 0,
    publishReceived: 0,
    publishSent: 0,
    publishReceivedByQos: [0, 0, 0],
    publishSentByQos: [0, 0, 0],
    bytesReceived: 0,
    bytesSent: 0,
    clientsConnected: 0,
    clientsMaximum: 0,
    messagesDroppedQueueFull: 0,
    quotaRefusals: { subscriptions: 0, retained: 0 },
    messagesDroppedSlowConsumer: 0,
    messagesDroppedTooLarge: 0,
    messagesExpired: 0,
    messagesNoSubscribers: 0,
    connectionsRefused: 0,
    loginFailures: 0,
    loginFailuresByListener: {},
    authorizationDenials: 0,
    authorizationDenialsByAction: { publish: 0, subscribe: 0, receive: 0 },
    storeCommits: 0,
    storeWriteFailures: 0,
    handshakeFailures: {},
    handshakeFailuresByListener: {},
    tlsHandshakes: {},
  };
}

/** Counts a refused login under its listener and reason. */
export function countLoginFailure(stats: BrokerStats, listener: string, reason: string): void {
  stats.loginFailures++;
  countUnder(stats.loginFailuresByListener, listener, reason);
}

/** One more in a two-level count: by listener, then by reason. */
export function countUnder(
  table: Record<string, Record<string, number>>,
  outer: string,
  inner: string,
): void {
  const row = table[outer] ?? {};
  table[outer] = row;
  row[inner] = (row[inner] ?? 0) + 1;
}

/** Counts an authorization refusal of one kind. */
export function countDenial(stats: BrokerStats, action: 'publish' | 'subscribe' | 'receive'): void {
  stats.authorizationDenials++;
  stats.authorizationDenialsByAction[action]++;
}

/** Every message the broker let go without delivering it, for $SYS/broker/publish/messages/dropped. */
export function messagesDropped(stats: BrokerStats): number {
  return (
    stats.messagesDroppedQueueFull +
    stats.messagesDroppedSlowConsumer +
    stats.messagesDroppedTooLarge +
    stats.messagesExpired
  );
}
