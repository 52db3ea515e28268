import { loadConfig } from '../../lambdas/core/config.js';
import { PayloadTooLargeError } from '../../lambdas/core/errors.js';
import { defaultPublicFields, publicProfile, readFrame } from '../../lambdas/core/protocol.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import type { WebSocketEvent } from '../../lambdas/handlers/shared/websocket.js';
import { handler as messageHandler } from '../../lambdas/handlers/ws/message.js';
import { encodeServerFrame, messageFrame } from '../../protocol/frames.js';
import {
  MAX_CLIENT_ID_LENGTH,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_BYTES_LIMIT,
  MAX_MESSAGE_TYPE_LENGTH,
  MAX_PUBLIC_PROFILE_BYTES,
  MAX_USER_ID_BYTES,
  utf8Length,
} from '../../protocol/limits.js';
import { fixture, installRuntime, resetRuntime, stubProfileEndpoint } from '../support/handler-runtime.js';
import { RecordingBus } from '../support/recording-bus.js';
import { RecordingSender } from '../support/recording-sender.js';

/** The longest room name the room rule allows. */
const LONGEST_ROOM = 'r'.repeat(128);
/** A user id at the limit, of 3-byte characters. */
const LONGEST_USER_ID = '€'.repeat(MAX_USER_ID_BYTES / 3);

/** A profile far over the public-profile budget, as a profile endpoint might answer. */
const HUGE_PROFILE = {
  id: LONGEST_USER_ID,
  username: '€'.repeat(300),
  name: 'n'.repeat(5000),
  first_name: 'f'.repeat(700),
  last_name: 'l'.repeat(400),
  surname: 's'.repeat(150),
  avatar: 'https://example.com/'.padEnd(300, 'a'),
};

/** A client frame of exactly `bytes` UTF-8 bytes: the longest type and clientId, a string body. */
function clientFrameOf(bytes: number): string {
  const frame = (padding: number) =>
    JSON.stringify({
      type: 't'.repeat(MAX_MESSAGE_TYPE_LENGTH),
      clientId: 'c'.repeat(MAX_CLIENT_ID_LENGTH),
      body: '€'.repeat(Math.floor(padding / 3)) + 'x'.repeat(padding % 3),
    });
  const overhead = utf8Length(frame(0));
  return frame(bytes - overhead);
}

describe('HIPOCHAT_MAX_MESSAGE_BYTES', () => {
  afterEach(resetRuntime);

  it('refuses 32,768: the server adds id, author, timestamp and room to every frame it sends', () => {
    expect(() => loadConfig({ HIPOCHAT_MAX_MESSAGE_BYTES: String(MAX_FRAME_BYTES) })).toThrow(
      `HIPOCHAT_MAX_MESSAGE_BYTES must be an integer from 64 to ${MAX_MESSAGE_BYTES_LIMIT}`,
    );
    expect(loadConfig({ HIPOCHAT_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES_LIMIT) }).maxMessageBytes).toBe(
      MAX_MESSAGE_BYTES_LIMIT,
    );
  });

  it('keeps the largest outbound message frame within API Gateway’s 32 KB', async () => {
    // Prepare: the limit, the longest type, clientId, room and user id, a profile over its budget.
    const bus = new RecordingBus();
    installRuntime(
      {
        HIPOCHAT_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES_LIMIT),
        HIPOCHAT_MESSAGE_TYPES: `message,${'t'.repeat(MAX_MESSAGE_TYPE_LENGTH)}`,
      },
      { store: new MemoryStore(), bus, sender: new RecordingSender() },
    );
    stubProfileEndpoint();
    // What the $connect authorizer hands on: the public part of the profile.
    const author = publicProfile(HUGE_PROFILE, defaultPublicFields('id'));
    expect(utf8Length(JSON.stringify(author))).toBeLessThanOrEqual(MAX_PUBLIC_PROFILE_BYTES);
    expect(utf8Length(JSON.stringify(author))).toBeGreaterThan(MAX_PUBLIC_PROFILE_BYTES - 200);
    const event = fixture<WebSocketEvent>('ws-default');
    event.requestContext.authorizer = {
      room: LONGEST_ROOM,
      userId: LONGEST_USER_ID,
      profile: JSON.stringify(author),
    };
    const text = clientFrameOf(MAX_MESSAGE_BYTES_LIMIT);
    expect(utf8Length(text)).toBe(MAX_MESSAGE_BYTES_LIMIT);
    event.body = text;

    // Act
    await messageHandler(event, fixture('lambda-context'));

    // Assess: the frame every member gets, built from what was accepted and published.
    expect(bus.published).toHaveLength(1);
    const [message] = bus.published;
    expect(message!.author).toEqual(author);
    expect(message!.senderId).toBe(LONGEST_USER_ID);
    expect(message!.room).toBe(LONGEST_ROOM);
    const outbound = encodeServerFrame(messageFrame(message!));
    expect(utf8Length(outbound)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
  });

  it('refuses a frame whose body grows past the limit when the server re-encodes it', () => {
    // 24 bytes in, 10 × "100000000000000000000" (21 digits) out.
    const text = `{"body":[${Array.from({ length: 10 }, () => '1e20').join(',')}]}`;
    const rules = { ...loadConfig({}), maxMessageBytes: 100 };
    expect(() => readFrame(text, rules)).toThrow(PayloadTooLargeError);
    expect(readFrame('{"body":[1e2]}', rules)).toMatchObject({ kind: 'send', body: [100] });
  });
});
