/**
 * The live signals of one room on the page: who is online (seeded from `GET /talk/presence`, then
 * presence frames), who is typing (typing frames, each notice fading after {@link TYPING_SHOWN_MS}),
 * and who has seen your last message (`GET /talk/receipts`, then read digests).
 */

import { type HipochatClient, type PresenceEvent, profileUserId } from '@hipochat/client';
import { compareIds, type Profile } from '../protocol/index.js';
import { h } from './dom.js';

/**
 * What a room view uses of its room: a one-room client, or a room object of a client that follows
 * several rooms on one socket (`client.rooms.get(name)`); both have these members.
 */
export type RoomClient = Pick<
  HipochatClient,
  | 'room'
  | 'maxMessageBytes'
  | 'http'
  | 'userId'
  | 'state'
  | 'hasEarlier'
  | 'on'
  | 'send'
  | 'edit'
  | 'delete'
  | 'react'
  | 'frameBytes'
  | 'getMessage'
  | 'loadEarlier'
  | 'sendTyping'
  | 'markRead'
  | 'reply'
  | 'thread'
  | 'markUnread'
  | 'readMarkHeld'
>;

/** How long after a join or leave the room's occupancy is asked again (a burst asks once). */
export const OCCUPANCY_REFRESH_MS = 300;

/** "3 online · 12 members"; without a member count (an older server), "3 online". */
export function occupancyText(online: number, members?: number): string {
  const people = `${online} online`;
  return members === undefined ? people : `${people} · ${members} member${members === 1 ? '' : 's'}`;
}

/** How long "bob is typing…" stays without a new typing frame (senders repeat every ~2 s). */
export const TYPING_SHOWN_MS = 3000;

/** A display name for a profile: `username`, `name`, `display_name`, then the id. */
export function profileName(profile: Profile | null | undefined, fallback = 'someone'): string {
  for (const field of ['username', 'name', 'display_name', 'id', 'user_id']) {
    const value = profile?.[field];
    if (typeof value === 'string' && value) return value;
    if (typeof value === 'number') return String(value);
  }
  return fallback;
}

// A key per user: the id when the public profile shows it, else the whole profile.
function userKey(profile: Profile, userId = profileUserId(profile)): string {
  return userId ?? JSON.stringify(profile);
}

/** "bob is typing…", "bob and carol are typing…", "bob, carol and 2 others are typing…". */
export function typingText(names: readonly string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  const others = names.length - 2;
  return `${names[0]}, ${names[1]} and ${others} other${others === 1 ? '' : 's'} are typing…`;
}

interface Typer {
  name: string;
  timer: ReturnType<typeof setTimeout>;
}

interface Receipt {
  name: string;
  lastRead: string;
}

/** The online list, the typing line and the seen-by note of one room panel. */
export class RoomSignals {
  /** The online list (goes in the panel's header area). */
  readonly onlineSection: HTMLElement;
  /** The typing line (goes under the messages). */
  readonly typingLine: HTMLElement;
  /** "3 online · 12 members" (goes in the room header). */
  readonly occupancyLine: HTMLElement;
  private members: number | undefined;
  private connections: number | undefined;
  private occupancyTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly onlineList: HTMLUListElement;
  private readonly onlineCount: HTMLElement;
  private readonly online = new Map<string, Profile>();
  private readonly typers = new Map<string, Typer>();
  private readonly receipts = new Map<string, Receipt>();
  private readonly unsubscribe: (() => void)[] = [];
  // Presence frames that arrive while the snapshot is on its way, replayed on top of it.
  private pendingPresence: PresenceEvent[] | undefined;
  private seeding = 0;
  private presenceKnown = false;

  /** `onUser` hears of each user the online list shows (for names that become mentions). */
  constructor(
    private readonly client: RoomClient,
    private readonly log: HTMLElement,
    private readonly onUser: (profile: Profile, userId: string | undefined) => void = () => {},
  ) {
    const room = client.room;
    this.onlineCount = h('span', { class: 'online-count' }, '0');
    this.onlineList = h('ul', { class: 'online-list', 'aria-label': `Online in ${room}` });
    // Hidden until the server shows it knows presence (an older one answers 404).
    this.onlineSection = h(
      'div',
      { class: 'online', hidden: true },
      h('span', { class: 'online-label' }, 'Online ', this.onlineCount),
      this.onlineList,
    );
    this.typingLine = h('p', { class: 'typing', role: 'status', 'aria-live': 'polite' });
    this.occupancyLine = h('p', { class: 'occupancy', hidden: true });
    this.unsubscribe.push(
      client.on('state', (change) => {
        if (change.state === 'live') void this.seed();
        else this.markStale(change.state);
      }),
      client.on('presence', (event) => {
        if (this.pendingPresence) this.pendingPresence.push(event);
        this.applyPresence(event);
        this.refreshOccupancySoon();
      }),
      client.on('typing', (event) => {
        const key = event.senderId ?? userKey(event.author ?? {});
        this.showTyper(key, profileName(event.author, event.senderId));
      }),
      // A message from someone ends their typing notice, and shows they have read the room up to
      // it: a quick reply can come before their read mark does, so "Seen by" need not wait for it.
      client.on('message', (message) => {
        if (!message.senderId) return;
        this.hideTyper(message.senderId);
        if (message.senderId !== this.client.userId && message.author) {
          this.applyReceipt(message.author, message.id, message.senderId);
        }
      }),
      client.on('read', (event) => this.applyReceipt(event.user, event.id, event.userId)),
      client.on('self', () => {
        this.renderOnline();
        this.renderSeen();
      }),
    );
  }

  /** Shows who has seen your last message again (after it, or who sent it, changed). */
  renderSeen(): void {
    for (const note of this.log.querySelectorAll('.seen')) note.remove();
    const own = this.log.querySelectorAll<HTMLElement>('.msg.own');
    const mine = own[own.length - 1];
    const lastOwn = mine?.getAttribute('data-id');
    if (!mine || !lastOwn) return;
    const self = this.client.userId;
    const names = [...this.receipts.entries()]
      .filter(([key, receipt]) => key !== self && compareIds(receipt.lastRead, lastOwn) >= 0)
      .map(([, receipt]) => receipt.name)
      .sort((a, b) => a.localeCompare(b));
    if (names.length === 0) return;
    mine.append(h('p', { class: 'seen' }, `Seen by ${names.join(', ')}`));
  }

  /** Stops listening and clears the timers. */
  dispose(): void {
    for (const off of this.unsubscribe) off();
    for (const typer of this.typers.values()) clearTimeout(typer.timer);
    this.typers.clear();
    clearTimeout(this.occupancyTimer);
  }

  /** Loads who is online and the read marks; run on every (re)connect, since frames were missed meanwhile. */
  private async seed(): Promise<void> {
    const generation = ++this.seeding;
    this.pendingPresence = [];
    const [presence, receipts] = await Promise.allSettled([
      this.client.http.presence(this.client.room),
      this.client.http.receipts(this.client.room),
    ]);
    if (generation !== this.seeding) return;
    const missed = this.pendingPresence;
    this.pendingPresence = undefined;
    if (presence.status === 'fulfilled') {
      this.presenceKnown = true;
      this.members = presence.value.members;
      this.connections = presence.value.connections;
      this.online.clear();
      for (const user of presence.value.online) {
        this.online.set(userKey(user), user);
        this.onUser(user, profileUserId(user));
      }
      for (const event of missed) this.applyPresence(event);
    }
    // Read marks only move forward, so the snapshot and the frames merge in any order.
    if (receipts.status === 'fulfilled') {
      for (const receipt of receipts.value.receipts) this.applyReceipt(receipt.user, receipt.lastRead);
    }
    // A server without these routes leaves the lists as the frames made them.
    this.renderOnline();
    this.renderSeen();
  }

  /**
   * Off the socket, presence frames are missed: the list is no longer known, so it says so
   * (greyed, "Reconnecting…") until the next seed on reconnect replaces it.
   */
  private markStale(state: string): void {
    if (!this.presenceKnown) return;
    this.seeding += 1;
    this.onlineSection.setAttribute('data-stale', 'true');
    this.onlineCount.textContent = '?';
    this.occupancyLine.textContent = state === 'closed' ? 'Offline' : 'Reconnecting…';
    this.occupancyLine.removeAttribute('title');
  }

  /** Asks for the member and connection counts again after a join or leave (frames carry neither). */
  private refreshOccupancySoon(): void {
    clearTimeout(this.occupancyTimer);
    this.occupancyTimer = setTimeout(async () => {
      try {
        const answer = await this.client.http.presence(this.client.room);
        this.members = answer.members;
        this.connections = answer.connections;
        this.renderOnline();
      } catch {
        // The next join or leave, or reconnect, asks again.
      }
    }, OCCUPANCY_REFRESH_MS);
  }

  private applyPresence(event: PresenceEvent): void {
    this.presenceKnown = true;
    const key = userKey(event.user, event.userId);
    if (event.event === 'join') this.online.set(key, event.user);
    else {
      this.online.delete(key);
      this.hideTyper(key);
    }
    this.renderOnline();
  }

  private applyReceipt(user: Profile, lastRead: string, userId = profileUserId(user)): void {
    const key = userKey(user, userId);
    const known = this.receipts.get(key);
    if (known && compareIds(known.lastRead, lastRead) >= 0) return;
    this.receipts.set(key, { name: profileName(user), lastRead });
    this.renderSeen();
  }

  private renderOnline(): void {
    if (!this.presenceKnown || this.client.state !== 'live') return;
    this.onlineSection.hidden = false;
    this.onlineSection.removeAttribute('data-stale');
    const self = this.client.userId;
    const entries = [...this.online.entries()].sort(([, a], [, b]) =>
      profileName(a).localeCompare(profileName(b)),
    );
    this.onlineList.replaceChildren(
      ...entries.map(([key, profile]) =>
        h(
          'li',
          { 'data-user': key },
          h('span', { class: 'presence-dot', 'aria-hidden': 'true' }),
          h(
            'span',
            { class: 'online-name' },
            profileName(profile),
            key === self ? h('span', { class: 'you' }, ' (you)') : undefined,
          ),
        ),
      ),
    );
    this.onlineCount.textContent = String(entries.length);
    this.occupancyLine.hidden = false;
    this.occupancyLine.textContent = occupancyText(entries.length, this.members);
    if (this.connections !== undefined) {
      this.occupancyLine.title = `${this.connections} open connection${this.connections === 1 ? '' : 's'}`;
    }
  }

  private showTyper(key: string, name: string): void {
    clearTimeout(this.typers.get(key)?.timer);
    this.typers.set(key, { name, timer: setTimeout(() => this.hideTyper(key), TYPING_SHOWN_MS) });
    this.renderTyping();
  }

  private hideTyper(key: string): void {
    const typer = this.typers.get(key);
    if (!typer) return;
    clearTimeout(typer.timer);
    this.typers.delete(key);
    this.renderTyping();
  }

  private renderTyping(): void {
    const text = typingText([...this.typers.values()].map((typer) => typer.name));
    // Rewriting the same text would make screen readers announce it again on every frame.
    if (this.typingLine.textContent !== text) this.typingLine.textContent = text;
  }
}
