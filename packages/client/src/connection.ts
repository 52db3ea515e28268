/**
 * One socket to the server that survives network trouble: an explicit state machine (the
 * transition table below is the only way the state changes), numbered close codes, and one path
 * ({@link Connection.end}) that every close goes through, whoever caused it. It knows nothing of
 * rooms: it settles acknowledged sends and hands every other frame to its subscribers (the rooms),
 * so several rooms can share one connection.
 */
import {
  AUTHENTICATION_ERROR,
  type ErrorFrame,
  FINAL_CLOSE_CODES,
  KEEP_ALIVE_FRAME,
  KEEP_ALIVE_INTERVAL_MS,
  parseServerFrame,
  RECONNECT_INITIAL_DELAY_MS,
  RECONNECT_MAX_DELAY_MS,
  type ServerFrame,
} from '../../../protocol/index.js';
import { BoundedSet } from './bounded.js';
import { HipochatError, ModerationError, toError } from './errors.js';
import { type ClientErrorEvent, Emitter } from './events.js';
import {
  CloseCode,
  type CloseCodeValue,
  isFinalClose,
  type LinkState,
  type ReconnectOptions,
  type SendAck,
  TRANSITIONS,
  type WebSocketConstructor,
  type WebSocketLike,
} from './link-states.js';
import { backoffDelay } from './urls.js';

/** Options of {@link Connection}. */
export interface ConnectionOptions {
  /** The URL of the next attempt (it may fetch a ticket; an `auth` error is final). */
  socketUrl: () => Promise<string>;
  /** Why a socket that never opened was refused, or undefined when it may be retried. */
  refusal?: (problem: string | undefined) => Promise<string | undefined>;
  reconnect?: ReconnectOptions | false;
  /** @default 10000 */
  connectTimeoutMs?: number;
  /** @default {@link KEEP_ALIVE_INTERVAL_MS}; `0` turns keep-alive off */
  keepAliveMs?: number;
  /** @default 10000 */
  sendTimeoutMs?: number;
  /** @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /** @default Math.random */
  random?: () => number;
}

/** A state change of a {@link Connection}. */
export interface LinkChange {
  state: LinkState;
  code?: CloseCodeValue;
  reason?: string;
  attempt: number;
  delayMs?: number;
}

/** Events of a {@link Connection}. */
export interface ConnectionEvents {
  state: (change: LinkChange) => void;
  /** A frame for the rooms (acks and errors of pending sends are settled here, not passed on). */
  frame: (frame: ServerFrame) => void;
  error: (error: ClientErrorEvent) => void;
}

interface PendingSend {
  clientId: string;
  resolve: (ack: SendAck) => void;
  reject: (error: HipochatError) => void;
  timer: ReturnType<typeof setTimeout>;
}

const OPEN = 1;
const FINAL_SERVER_CODES = new Set(FINAL_CLOSE_CODES);
// Frame clientIds remembered to recognise one's own echoes: far more than can be in flight.
const OWN_CLIENT_IDS_CAP = 512;

/** A socket with reconnects, keep-alive and acknowledged sends. */
export class Connection extends Emitter<ConnectionEvents> {
  private current: LinkState = 'idle';
  private socket: WebSocketLike | undefined;
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private keepAliveTimer: ReturnType<typeof setInterval> | undefined;
  private readonly pending: PendingSend[] = [];
  private readonly ownClientIds = new BoundedSet<string>(OWN_CLIENT_IDS_CAP);

  constructor(private readonly options: ConnectionOptions) {
    super();
  }

  get state(): LinkState {
    return this.current;
  }

  /** Open, and the socket has not begun closing (a server's close may still be on its way). */
  get usable(): boolean {
    return this.current === 'open' && this.socket?.readyState === OPEN;
  }

  /** Consecutive failed attempts. */
  get attempt(): number {
    return this.failures;
  }

  /** Sizes of what the connection remembers (for memory checks). */
  get memory(): { pending: number; ownClientIds: number } {
    return { pending: this.pending.length, ownClientIds: this.ownClientIds.size };
  }

  /** Starts connecting (from `idle` only; later attempts are the connection's own). */
  start(): void {
    if (this.current === 'idle') void this.attemptOpen();
  }

  /** The rooms are caught up on this socket: the next failure starts the backoff afresh. */
  markHealthy(): void {
    this.failures = 0;
  }

  /** Closes for good. */
  close(): void {
    this.end(CloseCode.ClientClosed, 'client closed');
  }

  /** Whether a frame with this clientId was sent by this connection (recently). */
  isOwn(clientId: string | undefined): boolean {
    return clientId !== undefined && this.ownClientIds.has(clientId);
  }

  /** Sends a frame without waiting for an answer; false when not open. */
  sendRaw(frame: string, clientId?: string): boolean {
    const socket = this.socket;
    if (this.current !== 'open' || !socket || socket.readyState !== OPEN) return false;
    if (clientId !== undefined) this.ownClientIds.add(clientId);
    socket.send(frame);
    return true;
  }

  /** Sends a frame that carries `clientId` and settles on its ack or error frame. */
  send(frame: string, clientId: string): Promise<SendAck> {
    return new Promise<SendAck>((resolve, reject) => {
      const timeoutMs = this.options.sendTimeoutMs ?? 10_000;
      const entry: PendingSend = {
        clientId,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.removePending(entry);
          reject(new HipochatError('timeout', `no acknowledgement after ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.pending.push(entry);
      if (!this.sendRaw(frame, clientId)) {
        this.removePending(entry);
        reject(new HipochatError('send', `not connected (${this.current}); nothing was sent`));
      }
    });
  }

  private move(next: LinkState, change: Omit<LinkChange, 'state' | 'attempt'> = {}): boolean {
    if (!TRANSITIONS[this.current].includes(next)) return false;
    this.current = next;
    clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
    const every = this.options.keepAliveMs ?? KEEP_ALIVE_INTERVAL_MS;
    if (next === 'open' && every > 0) {
      this.keepAliveTimer = setInterval(() => this.sendRaw(KEEP_ALIVE_FRAME), every);
      // A Node process (the CLI) may exit while a room is open.
      (this.keepAliveTimer as { unref?: () => void }).unref?.();
    }
    this.emit('state', { state: next, attempt: this.failures, ...change });
    return true;
  }

  private async attemptOpen(): Promise<void> {
    if (!this.move('connecting')) return;
    let url: string;
    try {
      url = await this.options.socketUrl();
    } catch (error) {
      if (this.current !== 'connecting') return;
      const refused = error instanceof HipochatError && error.kind === 'auth';
      if (refused) this.emit('error', { kind: 'auth', message: error.message });
      return this.end(refused ? CloseCode.Refused : CloseCode.ConnectFailed, toError(error).message);
    }
    if (this.current !== 'connecting') return;
    const Ctor = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) {
      return this.end(
        CloseCode.NoWebSocket,
        'no WebSocket implementation: pass options.WebSocket (for example `ws`)',
      );
    }
    let socket: WebSocketLike;
    try {
      socket = new Ctor(url);
    } catch (error) {
      return this.end(CloseCode.ConnectFailed, toError(error).message);
    }
    this.socket = socket;
    this.watch(socket);
  }

  private watch(socket: WebSocketLike): void {
    let opened = false;
    let problem: string | undefined;
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    // Some implementations never fire close for a socket that never opened.
    const connectTimer = setTimeout(() => {
      if (socket !== this.socket) return;
      this.end(CloseCode.ConnectTimeout, `timed out after ${timeoutMs} ms`);
    }, timeoutMs);
    socket.onopen = () => {
      clearTimeout(connectTimer);
      if (socket !== this.socket) return;
      opened = true;
      this.move('open');
    };
    socket.onmessage = (event) => {
      if (socket === this.socket && typeof event.data === 'string') this.onFrame(event.data);
    };
    socket.onerror = (event) => {
      const message = (event as { message?: unknown } | null)?.message;
      if (typeof message === 'string' && message) problem = message;
    };
    socket.onclose = ({ code, reason }) => {
      clearTimeout(connectTimer);
      if (socket !== this.socket) return;
      if (opened) {
        // The server closing cleanly (unsubscribed, auth refused) is final: retrying would be refused.
        if (FINAL_SERVER_CODES.has(code)) {
          const why = reason || `code ${code}`;
          return this.end(
            CloseCode.ServerClosed,
            why.startsWith('closed by server') ? why : `closed by server: ${why}`,
          );
        }
        return this.end(CloseCode.ConnectionLost, reason || problem || `connection lost (code ${code})`);
      }
      this.socket = undefined;
      void this.checkRefusal(reason || problem || 'connection failed', problem);
    };
  }

  // Browsers hide the HTTP status of a refused upgrade: ask before retrying forever.
  private async checkRefusal(reason: string, problem: string | undefined): Promise<void> {
    const refusal = await this.options.refusal?.(problem);
    if (this.current !== 'connecting') return;
    if (refusal) {
      this.emit('error', { kind: 'auth', message: refusal });
      return this.end(CloseCode.Refused, refusal);
    }
    this.end(CloseCode.ConnectFailed, reason);
  }

  /** The one path every close takes: drop the socket, fail what waits, then reconnect or stop. */
  private end(code: CloseCodeValue, reason: string): void {
    if (this.current === 'closed') return;
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
      if (socket.readyState <= OPEN)
        socket.close(code === CloseCode.ClientClosed ? 1000 : undefined, reason.slice(0, 120));
    }
    this.failPending(
      code === CloseCode.ClientClosed
        ? 'the client closed'
        : 'the connection closed before the server answered',
    );
    if (isFinalClose(code)) {
      this.move('closed', { code, reason });
      return;
    }
    this.failures += 1;
    const policy = this.options.reconnect;
    const maxAttempts = policy === false ? 0 : (policy?.maxAttempts ?? Number.POSITIVE_INFINITY);
    if (this.failures > maxAttempts) {
      this.move('closed', { code: CloseCode.GaveUp, reason });
      return;
    }
    const delayMs = backoffDelay(
      this.failures,
      (policy || undefined)?.initialDelayMs ?? RECONNECT_INITIAL_DELAY_MS,
      (policy || undefined)?.maxDelayMs ?? RECONNECT_MAX_DELAY_MS,
      this.options.random,
    );
    this.move('waiting', { code, reason, delayMs });
    this.retryTimer = setTimeout(() => void this.attemptOpen(), delayMs);
  }

  private onFrame(data: string): void {
    const frame = parseServerFrame(data);
    if (frame.kind === 'unreadable') {
      // Unknown frames are skipped: a newer server may send frames this client does not know.
      if (frame.reason === 'not-json')
        this.emit('error', { kind: 'frame', message: 'the server sent a frame that is not JSON' });
      return;
    }
    if (frame.kind === 'pong') return;
    if (frame.kind === 'ack') {
      const entry = this.pending.find((p) => p.clientId === frame.clientId);
      if (!entry) {
        this.emit('frame', frame);
        return;
      }
      this.removePending(entry);
      entry.resolve(
        frame.id === undefined
          ? { id: '', clientId: entry.clientId, ephemeral: true }
          : { id: frame.id, clientId: entry.clientId },
      );
      return;
    }
    if (frame.kind === 'error') {
      // The server names the refused frame's clientId; without one, it answers frames in order.
      const entry =
        frame.clientId !== undefined
          ? this.pending.find((p) => p.clientId === frame.clientId)
          : this.pending[0];
      if (!entry) {
        this.emit('frame', frame);
        return;
      }
      this.removePending(entry);
      const refusal = refusedFrame(frame);
      this.emit('error', refusal.event);
      entry.reject(refusal.error);
      return;
    }
    this.emit('frame', frame);
  }

  private removePending(entry: PendingSend): void {
    clearTimeout(entry.timer);
    const index = this.pending.indexOf(entry);
    if (index >= 0) this.pending.splice(index, 1);
  }

  private failPending(why: string): void {
    for (const entry of this.pending.splice(0)) {
      clearTimeout(entry.timer);
      entry.reject(new HipochatError('send', `${why}; the message may or may not have been stored`));
    }
  }
}

/**
 * The `error` event and the rejection of a refused send: a {@link ModerationError} when moderation
 * refused it (the frame names a `reason`), else a `send` error with the server's text.
 */
export function refusedFrame(frame: ErrorFrame): { event: ClientErrorEvent; error: HipochatError } {
  if (frame.reason !== undefined) {
    const retryAfter = frame.retryAfter === undefined ? {} : { retryAfter: frame.retryAfter };
    return {
      event: { kind: 'moderation', message: frame.message, reason: frame.reason, ...retryAfter },
      error: new ModerationError(frame.message, frame.reason, frame.retryAfter),
    };
  }
  const kind = frame.message === AUTHENTICATION_ERROR ? 'auth' : 'frame';
  return { event: { kind, message: frame.message }, error: new HipochatError('send', frame.message) };
}
