import { loadConfig } from '../../lambdas/core/config.js';
import { readFrame } from '../../lambdas/core/protocol.js';
import { createRuntime } from '../../lambdas/core/runtime.js';
import { SignalPublisher, signalEnvelope } from '../../lambdas/core/signals.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import {
  type ChatMessage,
  encodeServerFrame,
  isServerField,
  SERVER_FIELDS,
  type SendFrame,
  type ServerFrameKind,
  type ServerFrameOf,
} from '../../protocol/index.js';
import { RecordingBus } from '../support/recording-bus.js';
import { RecordingSender } from '../support/recording-sender.js';

// The server alone owns these fields: every frame it encodes lists each of its fields as the
// server's, and whatever a client forges in them never reaches a stored message.

const ID = '1700000000000-0';

describe('the fields that belong to the server', () => {
  const message: ChatMessage = {
    id: ID,
    type: 'message',
    room: 'lobby',
    token: 'lobby',
    timestamp: 1,
    body: 'hi',
    author: { id: 'ann' },
    senderId: 'ann',
    clientId: 'c1',
    edited: { at: 2, by: 'ann' },
    deleted: true,
    reactions: { '👍': { count: 1, users: ['bob'] } },
    parentId: ID,
    mentions: ['bob'],
    replies: { count: 2, lastId: ID },
  };
  // One frame of every kind with every optional field set: a new kind fails to compile here.
  const everyKind: { [K in ServerFrameKind]: ServerFrameOf<K> } = {
    message: { kind: 'message', message },
    batch: { kind: 'batch', room: 'lobby', messages: [message], reads: [{ user: { id: 'ann' }, id: ID }] },
    reads: { kind: 'reads', room: 'lobby', marks: [{ user: { id: 'ann' }, id: ID }] },
    ack: { kind: 'ack', id: ID, clientId: 'c1' },
    error: { kind: 'error', message: 'no', clientId: 'c1', room: 'lobby', reason: 'muted', retryAfter: 30 },
    replies: { kind: 'replies', room: 'lobby', id: ID, count: 2, lastId: ID },
    pong: { kind: 'pong' },
    subscribed: { kind: 'subscribed', room: 'lobby', unread: 2, missed: [message], more: true },
    unsubscribed: { kind: 'unsubscribed', room: 'lobby' },
    unread: { kind: 'unread', room: 'lobby', count: 3, rooms: { lobby: 3 } },
    presence: { kind: 'presence', event: 'join', room: 'lobby', user: { id: 'ann' } },
    typing: {
      kind: 'typing',
      room: 'lobby',
      author: { id: 'ann' },
      senderId: 'ann',
      clientId: 'c1',
      timestamp: 1,
      body: 'draft',
    },
    read: { kind: 'read', room: 'lobby', user: { id: 'ann' }, id: ID },
    edit: { kind: 'edit', room: 'lobby', id: ID, body: 'new', edited: { at: 2, by: null } },
    delete: { kind: 'delete', room: 'lobby', id: ID },
    reaction: { kind: 'reaction', room: 'lobby', id: ID, emoji: '👍', user: 'ann', count: 1, added: true },
  };

  it.each(Object.entries(everyKind))('lists every field of an encoded %s frame', (_kind, frame) => {
    const wire = JSON.parse(encodeServerFrame(frame)) as Record<string, unknown>;
    expect(Object.keys(wire).filter((name) => !isServerField(name))).toEqual([]);
  });

  it('lists every field of a signal envelope and of an ephemeral frame', async () => {
    expect(
      Object.keys(signalEnvelope('lobby', '{}', 'conn-1')).filter((name) => !isServerField(name)),
    ).toEqual([]);
    const bus = new RecordingBus();
    await new SignalPublisher(bus).ephemeral('lobby', {
      type: 'typing',
      identity: { userId: 'ann', profile: { id: 'ann' } },
      clientId: 't',
      body: 1,
    });
    const frame = JSON.parse((bus.published[0] as unknown as { signal: string }).signal) as object;
    expect(Object.keys(frame).filter((name) => !isServerField(name))).toEqual([]);
  });

  it('holds the stored-message fields the server owns', () => {
    expect(SERVER_FIELDS).toEqual(
      expect.arrayContaining(['id', 'type', 'room', 'token', 'timestamp', 'author', 'senderId', 'clientId']),
    );
    expect(SERVER_FIELDS).toEqual(
      expect.arrayContaining(['signal', 'except', 'deleted', 'edited', 'reactions', 'ERROR', 'kind']),
    );
  });

  it("builds a stored message from the client's own fields and the server's, whatever the client sends", async () => {
    // Prepare: every server field forged in one frame.
    const bus = new RecordingBus();
    const rt = createRuntime(loadConfig({}), {
      store: new MemoryStore(),
      bus,
      sender: new RecordingSender(),
    });
    // A forged parentId is refused (it names a thread root), so it is left out.
    const forged = Object.fromEntries(
      SERVER_FIELDS.filter((name) => name !== 'parentId').map((name) => [name, `forged-${name}`]),
    );
    const text = JSON.stringify({ ...forged, type: 'message', body: 'x', clientId: 'c1', color: 'red' });

    // Act
    const stored = await rt.chat.send(
      'lobby',
      { userId: 'ann', profile: { id: 'ann' } },
      readFrame(text, rt.config) as SendFrame,
    );

    // Assess
    expect(stored).toEqual({
      id: expect.stringMatching(/^\d+-\d+$/),
      type: 'message',
      room: 'lobby',
      token: 'lobby',
      timestamp: expect.any(Number),
      body: 'x',
      author: { id: 'ann' },
      senderId: 'ann',
      clientId: 'c1',
      color: 'red',
    });
    expect(bus.published).toEqual([stored]);
  });
});
