// What metrics and the admin API read of a running broker: its core, its listeners and their TLS
// channels, seen through interfaces so that observability/ needs nothing from the edge.

import type { X509Certificate } from 'node:crypto';
import type { BridgeStatus } from '../bridge/bridge.js';
import type { BrokerCore } from '../core/broker-core.js';
import type { ListenerPolicy } from '../core/listener-policy.js';

/** A TLS listener's certificates and state (TlsChannel). */
export interface TlsView {
  readonly name: string;
  readonly config: { readonly clientCertificates: string };
  certificates(): ReadonlyArray<{
    readonly file: string;
    readonly certificate: X509Certificate;
    readonly status: string;
  }>;
  /** The CAs its client certificates are verified against. */
  readonly material: { readonly trusted: readonly X509Certificate[] };
  /** Connected clients whose certificate expires within `ms`. */
  clientCertificatesExpiring(ms: number): number;
  /** "off", "stapled", or "no answer yet". */
  ocspStatus(): string;
  /** The last reload: when, and its result. */
  readonly lastReload?: { readonly at: string; readonly ok: boolean; readonly error?: string };
}

/** A bridge's state: Bridge.status(). */
export type BridgeView = BridgeStatus;

export interface ListenerView {
  readonly url: string;
  readonly protocol: string;
  readonly policy: ListenerPolicy;
  /** Its TLS channel, on mqtts and wss. */
  readonly tls?: TlsView;
}

export interface BrokerView {
  readonly core: BrokerCore;
  readonly listeners: () => Iterable<ListenerView>;
  /** Every TLS channel (the admin listener's too). */
  readonly tls: () => Iterable<TlsView>;
  /** The bridges to other brokers: link state and counts. */
  readonly bridges: () => Iterable<BridgeView>;
  /** A cluster node: its bus to Redis. */
  readonly cluster?: {
    readonly nodeId: string;
    readonly up: boolean;
    /** Every node that joined, as of this node's last heartbeat. */
    readonly nodes: ReadonlyArray<{ readonly node: string; readonly alive: boolean }>;
  };
}
