import { type ChatEndpoints, chatEndpoints, E2E_SERVICE_KEY } from './gateway.js';
import { httpApi } from './http-api.js';
import { openSocket, type TestSocket } from './socket.js';

/** How a test connects to one room: the URL shape and what the connection asks for. */
export interface ConnectionShape {
  /** Hipochat's `/talk/chat/<room>/` URL instead of `/?room=<room>`. */
  legacy?: boolean;
  /** `&signals=1`: presence, reads, edits and reactions as frames. */
  signals?: boolean;
  /** `&batch=1`: a room's messages of one fan-out in one frame. */
  batch?: boolean;
}

/**
 * The chat of one e2e suite, for use inside its `describe`: started before the suite with the
 * system's `services`, the e2e service key and `env`, stopped after it; every socket a test opens
 * through it is closed after that test.
 */
export function e2eChat(services: Record<string, string>, env: Record<string, string> = {}) {
  let endpoints: ChatEndpoints | undefined;
  const open: TestSocket[] = [];
  const chat = (): ChatEndpoints => {
    if (!endpoints) throw new Error('the chat starts in beforeAll');
    return endpoints;
  };

  beforeAll(async () => {
    endpoints = await chatEndpoints({ ...services, HIPOCHAT_SERVICE_KEY: E2E_SERVICE_KEY, ...env });
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((socket) => socket.close()));
  });

  afterAll(async () => {
    await endpoints?.stop();
  });

  /** Closes `socket` after the test. */
  const track = (socket: TestSocket): TestSocket => {
    open.push(socket);
    return socket;
  };
  /** The URL of a single-room connection; `credential` is `token=...` or `ticket=...`. */
  const urlOf = (room: string, credential: string, shape: ConnectionShape = {}) => {
    const extra = `${shape.signals ? '&signals=1' : ''}${shape.batch ? '&batch=1' : ''}`;
    return shape.legacy
      ? `${chat().wsUrl}/talk/chat/${room}/?${credential}${extra}`
      : `${chat().wsUrl}/?room=${room}&${credential}${extra}`;
  };

  return {
    chat,
    track,
    urlOf,
    /** The HTTP API of the chat. */
    api: httpApi(() => chat().httpUrl),
    /** A single-room connection of the user of `token`, closed after the test. */
    connect: async (room: string, token: string, shape: ConnectionShape = {}) =>
      track(await openSocket(urlOf(room, `token=${token}`, shape))),
  };
}
