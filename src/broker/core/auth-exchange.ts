// One MQTT 5 enhanced authentication exchange [MQTT-4.12]: the method's steps, each "continue"
// sent to the client as AUTH 0x18 and answered by the client's next AUTH, until the method
// succeeds or fails. The connection decides what success and failure mean (CONNACK or AUTH 0x00 /
// DISCONNECT); this only carries the steps.

import { type Packet, ReasonCode } from '../../protocol/index.js';
import type { EnhancedAuthStep } from './ports.js';

export type FinalAuthStep = Exclude<EnhancedAuthStep, { kind: 'continue' }>;

export class AuthExchange {
  #waiting: ((data: Buffer | undefined) => void) | undefined;

  constructor(
    readonly method: string,
    private readonly send: (packet: Packet) => void,
  ) {}

  /** Runs the steps from the first; resolves with the final one (a method that throws fails). */
  async run(first: () => EnhancedAuthStep | Promise<EnhancedAuthStep>): Promise<FinalAuthStep> {
    try {
      let step = await first();
      while (step.kind === 'continue') {
        const current = step;
        this.send({
          type: 'auth',
          reasonCode: ReasonCode.ContinueAuthentication,
          properties: { authenticationMethod: this.method, authenticationData: current.data },
        });
        const data = await new Promise<Buffer | undefined>((resolve) => {
          this.#waiting = resolve;
        });
        step = await current.next(data);
      }
      return step;
    } catch (error) {
      return { kind: 'failure', reason: `${this.method} failed: ${(error as Error).message}` };
    } finally {
      this.#waiting = undefined;
    }
  }

  /** The client's AUTH 0x18; false when it was not expected (a protocol error). */
  answer(packet: Packet & { type: 'auth' }): boolean {
    const waiting = this.#waiting;
    if (
      waiting === undefined ||
      packet.reasonCode !== ReasonCode.ContinueAuthentication ||
      packet.properties?.authenticationMethod !== this.method
    )
      return false;
    this.#waiting = undefined;
    waiting(packet.properties?.authenticationData);
    return true;
  }
}
