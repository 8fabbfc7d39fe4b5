// What the core and a cluster bus ask of each other. On one node there is no bus; in a cluster
// every message goes through the cluster's log (the bus) and comes back to each node, its own
// included, to be routed there in the log's order: that order is what lets a session move from
// node to node without a message routed twice or not at all.

import type { Message } from './message.js';
import type { StoredState } from './store-ports.js';

/** The core's side: what it asks the cluster. */
export interface ClusterPort {
  /**
   * Makes this node the owner of the client id before CONNECT opens its session. When another
   * node holds the session, that node gives it up (its connection gets 0x8E) and the session, as
   * stored, is installed here first. Resolves undefined, or why the session could not be had.
   */
  claim(clientId: string): Promise<string | undefined>;
  /**
   * False while the cluster's log cannot be written: QoS 0 messages are then routed on this node
   * only (at most once allows it), so its connected clients are still served.
   */
  readonly up: boolean;
  /**
   * The client id, among every member on every node, that gets the log entry `entryId` through
   * the shared subscription group `group`: the same answer on every node.
   */
  chooseShared(group: string, entryId: string): string | undefined;
}

/** The bus's side: what it tells the core. */
export interface ClusterMember {
  /** A message from the cluster's log (published on any node): retained and routed here. */
  routeFromLog(message: Message, originClientId: string | undefined, entryId: string): void;
  /**
   * A message of the log that sessions installed here missed while they moved: routed to those
   * sessions only.
   */
  replayTo(
    clientIds: ReadonlySet<string>,
    message: Message,
    originClientId: string | undefined,
    entryId: string,
  ): void;
  /** Another node claims the client id: its connection here is taken over and the session given up. */
  releaseSession(clientId: string, toToken: string): void;
  /** A session given to this node (by its last owner, or from a dead node): made live here. */
  installSession(state: StoredState): void;
  /** Another node owns the session now (this node's writes to it were fenced off): dropped here. */
  dropSession(clientId: string): void;
  /** How far this node has routed the log: committed with the writes that routing made. */
  logPosition(id: string): void;
  /** Resolves once everything written so far is durable. */
  settled(): Promise<void>;
  /** Whether a session of this client id is live here. */
  holds(clientId: string): boolean;
}
