/**
 * Replay protection by sequence number. `seq` strictly increases per device, so anything at
 * or below the last stored seq is a replay, with one exception: the exact message stored last
 * (same seq, same payload hash) is a redelivery after a lost PUBACK (QoS 1 DUP, or a crash
 * between commit and ack). It is acknowledged again without storing it twice. The same holds
 * for any recent message the caller still remembers (`recentHash`), since a device may have
 * several messages in flight when the connection or the server dies.
 */
export type SeqVerdict = 'new' | 'duplicate' | 'replay';

export interface LastMessage {
  seq: number;
  hash: string;
}

export function classifySeq(
  last: LastMessage | undefined,
  seq: number,
  hash: string,
  recentHash?: string,
): SeqVerdict {
  if (last === undefined || seq > last.seq) return 'new';
  if ((seq === last.seq && hash === last.hash) || recentHash === hash) return 'duplicate';
  return 'replay';
}
