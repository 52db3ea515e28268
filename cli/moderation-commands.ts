/** The moderation commands, with the service key: mute, unmute, ban, unban, and the list of both. */
import { HipochatServer, type Restriction, type RestrictionAnswer } from '@hipochat/server';
import { httpOf, type Io, need, roomOf, seconds, serviceKeyOf, UsageError, type Values } from './args.js';

/** The backend client of a moderation command. */
function backend(values: Values, io: Io, command: string): HipochatServer {
  return new HipochatServer({
    httpUrl: httpOf(values, io, command),
    serviceKey: serviceKeyOf(values, io, command),
    timeoutMs: seconds(values, 15),
  });
}

/** `--seconds`: a whole number of seconds, at least 1 (`unmute` and `unban` lift). */
export function durationOf(values: Values, command: string): number {
  const raw = need(values.seconds, '--seconds', command);
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(
      `${command}: --seconds must be a whole number of seconds from 1, got "${raw}" (un${command} lifts it)`,
    );
  }
  return value;
}

/** How long a restriction has left, as a person reads it: `9 min 59 s`, `2 h 0 min`. */
export function formatDuration(secondsLeft: number): string {
  if (secondsLeft < 60) return `${secondsLeft} s`;
  if (secondsLeft < 3600) return `${Math.floor(secondsLeft / 60)} min ${secondsLeft % 60} s`;
  const days = Math.floor(secondsLeft / 86_400);
  const hours = Math.floor((secondsLeft % 86_400) / 3600);
  const minutes = Math.floor((secondsLeft % 3600) / 60);
  return days > 0 ? `${days} d ${hours} h` : `${hours} h ${minutes} min`;
}

function describeRestriction(restriction: Restriction): string {
  const until = new Date(restriction.until * 1000).toISOString().replace('.000', '');
  return `${formatDuration(restriction.secondsLeft)} left, until ${until}`;
}

function describeAnswer(answer: RestrictionAnswer): string {
  const verb = answer.kind === 'mute' ? 'muted' : 'banned';
  const closed =
    answer.disconnected === undefined
      ? ''
      : `; closed ${answer.disconnected} connection${answer.disconnected === 1 ? '' : 's'}`;
  if (answer.restriction === null) return `${answer.user} is no longer ${verb} in ${answer.room}${closed}`;
  return `${verb} ${answer.user} in ${answer.room} (${describeRestriction(answer.restriction)})${closed}`;
}

/** `mute`, `unmute`, `ban` and `unban`: one restriction of one user in one room. */
function restrictionCommand(kind: 'mute' | 'ban', lift: boolean) {
  const command = lift ? `un${kind}` : kind;
  return async (values: Values, io: Io): Promise<number> => {
    const room = roomOf(values, command);
    const user = need(values.user, '--user', command);
    const duration = lift ? 0 : durationOf(values, command);
    const answer = await backend(values, io, command)[kind](room, user, duration);
    io.out(values.json ? `${JSON.stringify(answer)}\n` : `${describeAnswer(answer)}\n`);
    return 0;
  };
}

export const mute = restrictionCommand('mute', false);
export const unmute = restrictionCommand('mute', true);
export const ban = restrictionCommand('ban', false);
export const unban = restrictionCommand('ban', true);

/** `moderation`: the room's active mutes and bans, soonest end first. */
export async function moderation(values: Values, io: Io): Promise<number> {
  const room = roomOf(values, 'moderation');
  const answer = await backend(values, io, 'moderation').moderation(room);
  if (values.json) {
    io.out(`${JSON.stringify(answer)}\n`);
    return 0;
  }
  if (answer.restrictions.length === 0) io.err(`nobody is muted or banned in ${answer.room}\n`);
  for (const restriction of answer.restrictions) {
    io.out(`${restriction.kind} ${restriction.user} (${describeRestriction(restriction)})\n`);
  }
  return 0;
}
