import {
  BATCH_FRAME_BYTES,
  batchFrame,
  type ChatMessage,
  encodeServerFrame,
  messageFrame,
  type ReadMarkEntry,
  readsFrame,
} from '../../protocol/index.js';

/**
 * Groups a room's messages into frames of at most {@link BATCH_FRAME_BYTES}, in order: a lone
 * message is sent as itself, several as `{"type":"batch","room":…,"messages":[…]}`.
 */
export function batchFrames(
  room: string,
  messages: readonly ChatMessage[],
  reads?: ReadMarkEntry[],
): { messages: ChatMessage[]; data: Buffer }[] {
  const frames: { messages: ChatMessage[]; data: Buffer }[] = [];
  const envelope = Buffer.byteLength(encodeServerFrame(batchFrame(room, [])));
  let current: { messages: ChatMessage[]; lone: string; bytes: number } = {
    messages: [],
    lone: '',
    bytes: envelope,
  };
  const flush = () => {
    if (current.messages.length === 0) return;
    const data = Buffer.from(
      current.messages.length === 1 ? current.lone : encodeServerFrame(batchFrame(room, current.messages)),
    );
    frames.push({ messages: current.messages, data });
    current = { messages: [], lone: '', bytes: envelope };
  };
  for (const message of messages) {
    const part = encodeServerFrame(messageFrame(message));
    // The message plus its comma in the batch's array.
    const bytes = Buffer.byteLength(part) + 1;
    if (current.messages.length > 0 && current.bytes + bytes > BATCH_FRAME_BYTES) flush();
    if (current.messages.length === 0) current.lone = part;
    current.messages.push(message);
    current.bytes += bytes;
  }
  flush();
  // A read digest rides in the last frame, which becomes a batch frame even for one message, or
  // goes as a frame of its own when the two would not fit in one.
  const last = frames.at(-1);
  if (reads && reads.length > 0 && last) {
    const carried = Buffer.from(encodeServerFrame({ ...batchFrame(room, last.messages), reads }));
    if (carried.byteLength <= BATCH_FRAME_BYTES) last.data = carried;
    else frames.push({ messages: [], data: Buffer.from(encodeServerFrame(readsFrame(room, reads))) });
  }
  return frames;
}
