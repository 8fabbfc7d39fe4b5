// Counters the broker keeps for $SYS and metrics; plain numbers, bumped where things happen.

export interface BrokerStats {
  messagesReceived: number;
  messagesSent: number;
  bytesReceived: number;
  bytesSent: number;
  /** QoS 1/2 messages dropped because a session's queue was full. */
  messagesDroppedQueueFull: number;
  /** Messages discarded because they exceeded the client's Maximum Packet Size. */
  messagesDroppedTooLarge: number;
  messagesExpired: number;
  connectionsRefused: number;
}

export function newBrokerStats(): BrokerStats {
  return {
    messagesReceived: 0,
    messagesSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    messagesDroppedQueueFull: 0,
    messagesDroppedTooLarge: 0,
    messagesExpired: 0,
    connectionsRefused: 0,
  };
}
