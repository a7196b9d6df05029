/**
 * Watches the MQTT fixed header of each packet as bytes arrive (packet type byte, then the
 * Remaining Length variable byte integer, MQTT 5 §2.1.4 / 3.1.1 §2.2.3) and says when a packet
 * declares more bytes than allowed. mqtt-packet's parser has no size limit and buffers a whole
 * packet before parsing it, so without this a peer could declare 256 MB and make us hold it.
 *
 * The guard must see exactly the bytes the parser sees, in order; it keeps no copy of them.
 */
export type FrameVerdict =
  | { readonly kind: 'ok' }
  | { readonly kind: 'too-large'; readonly declaredBytes: number }
  | { readonly kind: 'malformed' };

const OK: FrameVerdict = { kind: 'ok' };

/** A Remaining Length uses at most four bytes (MQTT 5 §1.5.5). */
const MAX_LENGTH_BYTES = 4;

/**
 * The largest whole packet a guard with this limit lets through: one type byte, the Remaining
 * Length in as many bytes as it takes, then the rest. This is the Maximum Packet Size to
 * advertise (MQTT 5 §3.2.2.3.6); any more would invite packets the guard refuses.
 */
export function largestPacketBytes(maxRemainingLength: number): number {
  let lengthBytes = 1;
  while (lengthBytes < MAX_LENGTH_BYTES && maxRemainingLength >= 0x80 ** lengthBytes) lengthBytes += 1;
  return 1 + lengthBytes + maxRemainingLength;
}

export class PacketSizeGuard {
  private phase: 'type' | 'length' | 'body' = 'type';
  private lengthValue = 0;
  private lengthMultiplier = 1;
  private lengthBytes = 0;
  private bodyRemaining = 0;

  /** @param maxRemainingLength largest Remaining Length accepted (packet size minus fixed header) */
  constructor(private readonly maxRemainingLength: number) {}

  /** Scans the next chunk of the stream; after a verdict other than ok the stream must be dropped. */
  scan(chunk: Buffer): FrameVerdict {
    let i = 0;
    while (i < chunk.length) {
      if (this.phase === 'body') {
        const step = Math.min(this.bodyRemaining, chunk.length - i);
        i += step;
        this.bodyRemaining -= step;
        if (this.bodyRemaining === 0) this.phase = 'type';
      } else if (this.phase === 'type') {
        i += 1;
        this.startLength();
      } else {
        const verdict = this.readLengthByte(chunk.readUInt8(i));
        i += 1;
        if (verdict !== OK) return verdict;
      }
    }
    return OK;
  }

  private startLength(): void {
    this.phase = 'length';
    this.lengthValue = 0;
    this.lengthMultiplier = 1;
    this.lengthBytes = 0;
  }

  private readLengthByte(byte: number): FrameVerdict {
    this.lengthValue += (byte & 0x7f) * this.lengthMultiplier;
    this.lengthMultiplier *= 0x80;
    this.lengthBytes += 1;
    if ((byte & 0x80) !== 0) {
      return this.lengthBytes >= MAX_LENGTH_BYTES ? { kind: 'malformed' } : OK;
    }
    if (this.lengthValue > this.maxRemainingLength) {
      return { kind: 'too-large', declaredBytes: this.lengthValue };
    }
    this.bodyRemaining = this.lengthValue;
    this.phase = this.bodyRemaining === 0 ? 'type' : 'body';
    return OK;
  }
}
