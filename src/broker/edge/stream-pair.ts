// Two connected in-process streams: what one writes, the other reads. A bridge's client inside
// the broker talks MQTT over one end while the broker's socket channel serves the other.

import { Duplex } from 'node:stream';

export function streamPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const end = (other: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk, _encoding, done) {
        other().push(chunk);
        done();
      },
      final(done) {
        other().push(null);
        done();
      },
      destroy(error, done) {
        const peer = other();
        if (!peer.destroyed) peer.destroy();
        done(error);
      },
    });
  ends.push(
    end(() => ends[1]!),
    end(() => ends[0]!),
  );
  return [ends[0]!, ends[1]!];
}
