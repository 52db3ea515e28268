/**
 * How the Redis store's values look in Redis: messages in the log, connection pairs and the
 * presence answers of its scripts.
 */
import type { ChatMessage, Profile, RepliesSummary } from '../../../protocol/index.js';
import type { NewMessage } from '../protocol.js';
import { readSummary, type StoredVersion, showMessage } from './change-store.js';
import type { ConnectionRecord, Departure, OnlineUser, ReadMark } from './chat-store.js';

/** A log entry as XRANGE answers it: the id and the field list. */
export type Entry = [string, string[]];

/** Connection records from HGETALL's flat `id, user` list. */
export function pairs(flat: string[]): ConnectionRecord[] {
  const records: ConnectionRecord[] = [];
  for (let i = 0; i < flat.length; i += 2) records.push({ connectionId: flat[i]!, userId: flat[i + 1]! });
  return records;
}

/** Sets `flag` on the records whose connection id is in `ids` (a set of the room). */
export function markFlag(
  records: ConnectionRecord[],
  ids: string[],
  flag: 'batched' | 'signals',
): ConnectionRecord[] {
  if (ids.length === 0) return records;
  const set = new Set(ids);
  for (const record of records) if (set.has(record.connectionId)) record[flag] = true;
  return records;
}

/** A profile as the room keeps it (JSON, '' when none was recorded). */
export function profileOf(json: string): Profile | null {
  return json ? (JSON.parse(json) as Profile) : null;
}

/** Users whose last connection went (flat `user, profile` pairs) onto `departed`. */
export function pushDepartures(flat: string[], listeners: number, departed: Departure[] | undefined): void {
  if (!departed) return;
  for (let i = 0; i < flat.length; i += 2) {
    departed.push({ userId: flat[i]!, left: true, profile: profileOf(flat[i + 1]!), listeners });
  }
}

/** What `hcDisconnect` answers for a connection it found: user, left, profile, read mark, listeners. */
export type DisconnectAnswer = [string, number, string, string, number];

/** The departure `hcDisconnect` describes. */
export function departureOf([userId, left, profile, read, listeners]: DisconnectAnswer): Departure {
  return {
    userId,
    left: left === 1,
    profile: profileOf(profile),
    ...(read ? { read } : {}),
    listeners: Number(listeners),
  };
}

/** Online users from flat `user, profile` pairs. */
export function onlineUsers(flat: string[]): OnlineUser[] {
  const users: OnlineUser[] = [];
  for (let i = 0; i < flat.length; i += 2) users.push({ userId: flat[i]!, profile: profileOf(flat[i + 1]!) });
  return users;
}

/** Read marks from flat `user, id, profile` triples. */
export function readMarks(flat: string[]): ReadMark[] {
  const marks: ReadMark[] = [];
  for (let i = 0; i < flat.length; i += 3) {
    marks.push({ userId: flat[i]!, lastRead: flat[i + 1]!, profile: profileOf(flat[i + 2]!) });
  }
  return marks;
}

/** `<connectionId> <room>`: connection ids and room names hold no space. */
export const userConnection = (connectionId: string, room: string) => `${connectionId} ${room}`;

/** Serialises a message for the log: the id is the log position, so it is not stored twice. */
export function encodeMessage(message: NewMessage): string {
  return JSON.stringify(message);
}

/** Rebuilds a message from its log entry. */
export function decodeMessage(id: string, data: string): ChatMessage {
  return { id, ...(JSON.parse(data) as NewMessage) };
}

/** A replies summary as the scripts keep it (`{"count":N,"lastId":"<id>"}`, in any key order). */
export function repliesOf(json: string): RepliesSummary {
  const { count, lastId } = JSON.parse(json) as RepliesSummary;
  return { count: Number(count), lastId };
}

/**
 * Messages from log entries, in their order: each its current version (the scripts put an edit's
 * or a tombstone's text in place of the logged one) with its reactions (`'r', <JSON>` after it) and
 * its replies summary (`'t', <JSON>`).
 */
export function decodeEntries(entries: Entry[]): ChatMessage[] {
  return entries.map(([id, fields]) => {
    if (fields.length <= 2) return decodeMessage(id, fields[1]!);
    let reactions: string | undefined;
    let replies: string | undefined;
    for (let i = 2; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'r') reactions = fields[i + 1];
      else if (fields[i] === 't') replies = fields[i + 1];
    }
    return showMessage(
      id,
      JSON.parse(fields[1]!) as StoredVersion,
      reactions === undefined ? undefined : readSummary(JSON.parse(reactions)),
      replies === undefined ? undefined : repliesOf(replies),
    );
  });
}
