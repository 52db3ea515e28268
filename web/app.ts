/**
 * The demo page: join rooms, read their history with a read/unread divider, chat live, watch
 * unread badges of the other rooms, see who is online, who is typing and who has seen your message,
 * edit and delete your messages and react to any. The rooms of one user share one socket: the
 * room on screen is followed, the others wait in the background with badges from the server's
 * live unread counts (a ticket connects one room, on a socket of its own). Query parameters `?ws=&http=&room=&token=` (room may repeat;
 * `ticket=1`, `max=<bytes>`, `page=<messages per history page>`) prefill the form and join at
 * once, so the page works against a deployed stack too.
 */
import { DEFAULT_MAX_MESSAGE_BYTES, HipochatClient, HipochatError, httpUrlFromWs } from '@hipochat/client';
import { byId, h } from './dom.js';
import type { RoomClient } from './room-signals.js';
import { RoomView } from './room-view.js';

/** What joining a room needs; kept in sessionStorage so a reload rejoins. */
interface JoinSpec {
  ws: string;
  http: string;
  room: string;
  token: string;
  ticket: boolean;
}

interface JoinedRoom {
  spec: JoinSpec;
  /** The client whose socket the room is on: shared by a user's rooms, or the room's own (ticket). */
  owner: HipochatClient;
  view: RoomView;
  tab: HTMLButtonElement;
  badge: HTMLElement;
}

const SESSION_KEY = 'hipochat:rooms';
const BADGE_POLL_MS = 5000;
const HISTORY_PAGE_SIZE = 50;

const joined = new Map<string, JoinedRoom>();
// One client (one socket) per endpoint and user, following the joined rooms of that user.
const shared = new Map<string, HipochatClient>();
let active: string | undefined;
let nextPanel = 0;

const joinBox = byId<HTMLDetailsElement>('join');
const form = byId<HTMLFormElement>('join-form');
const wsInput = byId<HTMLInputElement>('ws-url');
const httpInput = byId<HTMLInputElement>('http-url');
const roomInput = byId<HTMLInputElement>('room');
const tokenInput = byId<HTMLInputElement>('token');
const ticketInput = byId<HTMLInputElement>('use-ticket');
const joinError = byId<HTMLElement>('join-error');
const tabs = byId<HTMLElement>('room-tabs');
const panels = byId<HTMLElement>('rooms');
const emptyState = byId<HTMLElement>('empty-state');

const params = new URLSearchParams(location.search);
const maxBytes = Number(params.get('max')) || DEFAULT_MAX_MESSAGE_BYTES;
// A room opens on its newest page; "Load earlier messages" fetches the ones before.
const pageParam = Math.floor(Number(params.get('page')));
const pageSize = pageParam > 0 ? pageParam : HISTORY_PAGE_SIZE;

/** The serving gateway's ws URL, or the local default when opened from a file. */
function defaultWs(): string {
  if (location.protocol === 'http:' || location.protocol === 'https:') {
    return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
  }
  return 'ws://127.0.0.1:8888';
}

// A short non-secret key per user and endpoint for remembering who "you" is.
function selfKey(spec: JoinSpec): string {
  let hash = 2166136261;
  for (const char of `${spec.http}|${spec.token}`) {
    hash = Math.imul(hash ^ char.charCodeAt(0), 16777619);
  }
  return `hipochat:self:${(hash >>> 0).toString(36)}`;
}

function save(): void {
  const specs = [...joined.values()].map((entry) => entry.spec);
  try {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(specs));
  } catch {
    // Private modes may refuse storage; rejoining after a reload is a convenience.
  }
}

function restore(): JoinSpec[] {
  try {
    const specs = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? '[]') as JoinSpec[];
    return Array.isArray(specs) ? specs : [];
  } catch {
    return [];
  }
}

function showEmptyState(): void {
  emptyState.hidden = joined.size > 0;
}

function setBadge(entry: JoinedRoom, count: number): void {
  entry.badge.textContent = count > 0 ? String(count) : '';
  entry.badge.hidden = count <= 0;
  entry.badge.setAttribute('aria-label', `${count} unread`);
}

/** Asks the server for a room's unread count (a ticket's room, not on screen). */
async function refreshBadge(entry: JoinedRoom): Promise<void> {
  if (!entry.spec.ticket) return;
  if (entry.spec.room === active) {
    setBadge(entry, 0);
    return;
  }
  try {
    const count = await entry.view.client.http.notification(entry.spec.room);
    if (entry.spec.room !== active) setBadge(entry, count);
  } catch {
    // The next poll tries again; the state line shows connection trouble.
  }
}

/**
 * Whether the reader is looking at `room`: it is the room on screen, and the page is visible and
 * has focus. Only then is a room marked read (the client library's catch-up call does it), so the
 * sender sees "Seen by" while the reader looks, and a tab in the background never claims to have read.
 */
function isReading(room: string): boolean {
  return room === active && document.visibilityState === 'visible' && document.hasFocus();
}

/** Marks the room on screen read, when the reader looks (the library throttles to once per 2 s). */
function markActiveRead(): void {
  const entry = active ? joined.get(active) : undefined;
  entry?.view.client.markRead();
}
const pendingBadges = new Map<string, ReturnType<typeof setTimeout>>();
function refreshBadgeSoon(entry: JoinedRoom): void {
  clearTimeout(pendingBadges.get(entry.spec.room));
  pendingBadges.set(
    entry.spec.room,
    setTimeout(() => void refreshBadge(entry), 300),
  );
}

function activate(room: string, focus = true): void {
  const previous = active ? joined.get(active) : undefined;
  // A room marked unread stays unread when the reader leaves it.
  if (previous && previous.spec.room !== room && !previous.view.client.readMarkHeld) {
    previous.view.client.markRead();
  }
  active = room;
  for (const [name, entry] of joined) {
    const selected = name === room;
    // Only the room on screen is followed; the others' unread counts come live.
    if (!entry.spec.ticket) {
      if (selected) entry.owner.rooms.resume(name);
      else entry.owner.rooms.pause(name);
    }
    entry.view.panel.hidden = !selected;
    entry.tab.setAttribute('aria-selected', String(selected));
    entry.tab.tabIndex = selected ? 0 : -1;
  }
  const entry = joined.get(room);
  if (!entry) return;
  setBadge(entry, 0);
  markActiveRead();
  if (focus) entry.view.focus();
}

function leave(room: string): void {
  const entry = joined.get(room);
  if (!entry) return;
  if (entry.spec.ticket) entry.owner.close();
  else void entry.owner.rooms.remove(room);
  if (entry.owner.rooms.size === 0) {
    entry.owner.close();
    for (const [key, client] of shared) if (client === entry.owner) shared.delete(key);
  }
  entry.view.dispose();
  entry.view.panel.remove();
  entry.tab.remove();
  joined.delete(room);
  save();
  const next = joined.keys().next();
  active = undefined;
  if (!next.done) activate(next.value, false);
  showEmptyState();
}

function join(spec: JoinSpec, focus = true): void {
  if (joined.has(spec.room)) {
    activate(spec.room, focus);
    return;
  }
  const owner = spec.ticket ? newClient(spec, spec.room) : sharedClient(spec);
  const client: RoomClient = spec.ticket ? owner : owner.rooms.add(spec.room);
  const panelId = `room-${nextPanel++}`;
  const view = new RoomView(
    client,
    panelId,
    () => leave(spec.room),
    () => {
      const entry = joined.get(spec.room);
      if (!entry) return;
      // The room on screen is marked read by the client library (autoMarkRead).
      if (spec.room !== active) refreshBadgeSoon(entry);
    },
  );
  const badge = h('span', { class: 'badge', hidden: true });
  const dot = h('span', { class: 'dot', 'aria-hidden': 'true' });
  const tab = h(
    'button',
    {
      type: 'button',
      role: 'tab',
      id: `${panelId}-tab`,
      'aria-controls': panelId,
      'aria-selected': 'false',
      onclick: () => activate(spec.room),
      onkeydown: (event) => onTabKey(event as KeyboardEvent),
    },
    dot,
    h('span', { class: 'tab-name' }, spec.room),
    badge,
  );
  view.panel.setAttribute('aria-labelledby', tab.id);
  client.on('state', (change) => tab.setAttribute('data-state', change.state));
  // Marked unread: the tab says how many, even while the room is on screen.
  client.on('unread', (event) => {
    const entry = joined.get(spec.room);
    if (entry && event.from !== undefined && event.room === spec.room) setBadge(entry, event.count);
  });
  tabs.append(tab);
  panels.append(view.panel);
  const entry: JoinedRoom = { spec, owner, view, tab, badge };
  joined.set(spec.room, entry);
  save();
  showEmptyState();
  activate(spec.room, focus);
  if (spec.ticket) connect(owner);
}

/** A client of one room (`room`, a ticket's) or of the user's rooms (no `room`). */
function newClient(spec: JoinSpec, room?: string): HipochatClient {
  const client = new HipochatClient({
    url: spec.ws,
    httpUrl: spec.http,
    ...(room === undefined ? { rooms: [] } : { room, useTicket: true }),
    token: spec.token,
    maxMessageBytes: maxBytes,
    pageSize,
    // Online list, typing line and "Seen by".
    signals: true,
    // Live messages of others mark the room read while the reader looks at it.
    autoMarkRead: true,
    isReading,
  });
  const remembered = localStorage.getItem(selfKey(spec));
  if (remembered) client.setSelfId(remembered);
  client.on('self', (userId) => localStorage.setItem(selfKey(spec), userId));
  return client;
}

/** The user's one client on this endpoint, connecting on first use; its unread counts feed the badges. */
function sharedClient(spec: JoinSpec): HipochatClient {
  const key = JSON.stringify([spec.ws, spec.http, spec.token]);
  const known = shared.get(key);
  if (known) return known;
  const client = newClient(spec);
  client.on('unread', ({ room, count }) => {
    const entry = joined.get(room);
    if (entry?.owner === client && room !== active) setBadge(entry, count);
  });
  shared.set(key, client);
  connect(client);
  return client;
}

function connect(client: HipochatClient): void {
  client.connect(Number.POSITIVE_INFINITY).catch(() => {
    // The state line already says why (closed with a reason).
  });
}

// Arrow keys move between room tabs, as the ARIA tabs pattern expects.
function onTabKey(event: KeyboardEvent): void {
  const names = [...joined.keys()];
  const index = active ? names.indexOf(active) : -1;
  let next: number | undefined;
  if (event.key === 'ArrowRight' || event.key === 'ArrowDown') next = (index + 1) % names.length;
  if (event.key === 'ArrowLeft' || event.key === 'ArrowUp') next = (index - 1 + names.length) % names.length;
  if (event.key === 'Home') next = 0;
  if (event.key === 'End') next = names.length - 1;
  if (next === undefined) return;
  event.preventDefault();
  activate(names[next]!, false);
  joined.get(names[next]!)?.tab.focus();
}

function specFromForm(): JoinSpec {
  return {
    ws: wsInput.value.trim(),
    http: httpInput.value.trim() || httpUrlFromWs(wsInput.value.trim()),
    room: roomInput.value.trim(),
    token: tokenInput.value.trim(),
    ticket: ticketInput.checked,
  };
}

let httpEdited = false;
httpInput.addEventListener('input', () => {
  httpEdited = true;
});
wsInput.addEventListener('input', () => {
  if (httpEdited) return;
  try {
    httpInput.value = httpUrlFromWs(wsInput.value.trim());
  } catch {
    // Not a URL yet; the join reports it.
  }
});

form.addEventListener('submit', (event) => {
  event.preventDefault();
  joinError.textContent = '';
  try {
    join(specFromForm());
    roomInput.value = '';
    // On a phone the form would push the conversation below the fold.
    if (matchMedia('(max-width: 720px)').matches) joinBox.open = false;
  } catch (error) {
    joinError.textContent = error instanceof HipochatError ? error.message : String(error);
  }
});

setInterval(() => {
  for (const entry of joined.values()) void refreshBadge(entry);
}, BADGE_POLL_MS);

// Coming back to the tab (or the window) reads what arrived in the room on screen meanwhile.
document.addEventListener('visibilitychange', markActiveRead);
window.addEventListener('focus', markActiveRead);

function start(): void {
  wsInput.value = params.get('ws') ?? defaultWs();
  httpEdited = params.has('http');
  try {
    httpInput.value = params.get('http') ?? httpUrlFromWs(wsInput.value);
  } catch {
    httpInput.value = location.origin;
  }
  tokenInput.value = params.get('token') ?? '';
  ticketInput.checked = params.get('ticket') === '1';
  const rooms = params.getAll('room').filter((room) => room.length > 0);
  const specs: JoinSpec[] = tokenInput.value ? rooms.map((room) => ({ ...specFromForm(), room })) : [];
  // A reload rejoins what this tab had joined (rooms named in the URL first).
  for (const spec of [...specs, ...restore()]) {
    try {
      join(spec, false);
    } catch (error) {
      joinError.textContent = error instanceof HipochatError ? error.message : String(error);
    }
  }
  if (rooms.length === 1) roomInput.value = '';
  else if (rooms.length === 0 && joined.size === 0) roomInput.value = 'lobby';
  const first = joined.keys().next();
  if (!first.done) activate(first.value, false);
  if (joined.size > 0 && matchMedia('(max-width: 720px)').matches) joinBox.open = false;
  showEmptyState();
}

start();
