// The v5 tail shared by PUBACK/PUBREC/PUBREL/PUBCOMP, DISCONNECT and AUTH: a reason code and a
// property block, each left off the wire when nothing after it needs it (MQTT 5.0 3.4.2.1).

import type { Properties } from '../properties.js';
import { propertiesSize, writeProperties } from '../properties.js';
import { varintSize, type WireWriter } from '../wire-writer.js';

export interface ReasonTail {
  readonly size: number;
  readonly propsSize: number;
}

export function reasonTailSize(
  reasonCode: number | undefined,
  props: Properties | undefined,
  context: number,
): ReasonTail {
  const propsSize = propertiesSize(props, context);
  if (propsSize > 0) return { size: 1 + varintSize(propsSize) + propsSize, propsSize };
  return { size: reasonCode === undefined ? 0 : 1, propsSize };
}

export function writeReasonTail(
  w: WireWriter,
  reasonCode: number | undefined,
  props: Properties | undefined,
  tail: ReasonTail,
): void {
  if (tail.size === 0) return;
  w.u8(reasonCode ?? 0);
  if (tail.propsSize > 0) writeProperties(w, props, tail.propsSize);
}
