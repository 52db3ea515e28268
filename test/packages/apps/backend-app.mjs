// A backend that installed @hipochat/server (and a user's @hipochat/client): injects, broadcasts,
// deletes, replies in a thread, mutes and lists the room's restrictions, disconnects the user,
// checks a push signature and reads a signed moderation request. Prints one JSON line.
import { HipochatClient } from '@hipochat/client';
import {
  HipochatServer,
  ModerationRequestError,
  moderationDecision,
  NotFoundError,
  parseModerationRequest,
  verifyPushSignature,
} from '@hipochat/server';

const [url, httpUrl, room, serviceKey] = process.argv.slice(2);
const hipochat = new HipochatServer({ httpUrl, serviceKey });
const cy = new HipochatClient({ url, room, token: 'cy' });
const injections = [];
cy.on('injection', (message) => injections.push(message.body));
const closed = new Promise((resolve) =>
  cy.on('state', (change) => change.state === 'closed' && resolve(change)),
);
await cy.connect(10_000);

const injected = await hipochat.inject(room, 'notification', { n: 1 });
const broadcast = await hipochat.broadcast([room, `${room}-other`], 'notification', { n: 2 });
const tombstone = await hipochat.deleteMessage(room, injected.id);
let missing = '';
try {
  await hipochat.deleteMessage(room, '1-0');
} catch (error) {
  missing = error instanceof NotFoundError ? `NotFoundError ${error.statusCode}` : String(error);
}
const reply = await hipochat.inject(room, 'message', 'on it', {
  parentId: broadcast.messages[0].id,
  mentions: ['cy'],
});
const muted = await hipochat.mute(room, 'dee', 60);
const restrictions = (await hipochat.moderation(room)).restrictions.map((r) => `${r.kind} ${r.user}`);
const unmuted = await hipochat.unmute(room, 'dee');
const moderation = process.env.MODERATION_BODY ?? '';
let forged = '';
try {
  parseModerationRequest(`${moderation} `, process.env.MODERATION_SIGNATURE, 'push-secret');
} catch (error) {
  forged =
    error instanceof ModerationRequestError ? `ModerationRequestError ${error.statusCode}` : String(error);
}
while (injections.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
const disconnected = await hipochat.disconnectUser('cy');
const closedWith = await closed;
const push = process.env.PUSH_BODY ?? '';
process.stdout.write(
  `${JSON.stringify({
    injected: injected.type,
    broadcastRooms: broadcast.messages.map((message) => message.room),
    deleted: tombstone.deleted === true,
    missing,
    injections,
    disconnected: disconnected.disconnected,
    clientClosed: closedWith.reason,
    pushValid: verifyPushSignature(push, process.env.PUSH_SIGNATURE, 'push-secret'),
    pushForged: verifyPushSignature(`${push}!`, process.env.PUSH_SIGNATURE, 'push-secret'),
    reply: { parentId: reply.parentId === broadcast.messages[0].id, mentions: reply.mentions },
    muted: muted.restriction?.kind,
    restrictions,
    unmuted: unmuted.restriction,
    moderationRequest: parseModerationRequest(moderation, process.env.MODERATION_SIGNATURE, 'push-secret')
      .action,
    moderationForged: forged,
    decision: moderationDecision.reject('spam'),
  })}\n`,
);
