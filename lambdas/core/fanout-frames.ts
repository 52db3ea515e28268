import {
  BATCH_FRAME_BYTES,
  batchFrame,
  type ChatMessage,
  encodeServerFrame,
  messageFrame,
} from '../../protocol/index.js';

/**
 * Groups a room's messages into frames of at most {@link BATCH_FRAME_BYTES}, in order: a lone
 * message is sent as itself, several as `{"type":"batch","room":…,"messages":[…]}`.
 */
export function batchFrames(
  room: string,
  messages: readonly ChatMessage[],
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
  return frames;
}
