// Counters the broker keeps for $SYS and metrics; plain numbers, bumped where things happen.

export interface BrokerStats {
  /** Packets of any type, as Mosquitto's $SYS/broker/messages/received and /sent. */
  packetsReceived: number;
  packetsSent: number;
  publishReceived: number;
  publishSent: number;
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
  /** CONNECTs answered with a refusal. */
  connectionsRefused: number;
  /** CONNECTs whose credentials were refused (a subset of connectionsRefused). */
  loginFailures: number;
  /** PUBLISHes and SUBSCRIBE filters refused by authorization. */
  authorizationDenials: number;
  /** Store transactions committed, and those that failed (their acknowledgements withheld). */
  storeCommits: number;
  storeWriteFailures: number;
  /** Connections the transport refused before MQTT, by reason (TLS: "unknown CA", "time-out", ...). */
  handshakeFailures: Record<string, number>;
}

export function newBrokerStats(): BrokerStats {
  return {
    packetsReceived: 0,
    packetsSent: 0,
    publishReceived: 0,
    publishSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    clientsConnected: 0,
    clientsMaximum: 0,
    messagesDroppedQueueFull: 0,
    messagesDroppedSlowConsumer: 0,
    messagesDroppedTooLarge: 0,
    messagesExpired: 0,
    connectionsRefused: 0,
    loginFailures: 0,
    authorizationDenials: 0,
    storeCommits: 0,
    storeWriteFailures: 0,
    handshakeFailures: {},
  };
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
