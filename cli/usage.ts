/** The help texts of the CLI: the command list and each command's usage. */

/** `hipochat --help`. */
export const HELP = `hipochat: a command-line client for Hipochat Serverless

Usage: hipochat <command> [options]

Commands:
  chat          interactive chat: history on join, live messages, one line = one message
  tail          follow a room read-only: its recent history, then each message, until Ctrl-C
  inject        post the JSON on stdin (or --body) into a room as a message of --type
  history       print the latest messages of one or more rooms (comma-separated)
  notification  print your unread count in a room
  presence      print who is online in a room
  broadcast     post the JSON on stdin (or --body) as a message of --type into many rooms (service key)
  edit          replace a message's body: your own (--token) or any, for moderation (service key)
  react         toggle your reaction (an emoji) on a message
  reply         reply in the thread of a message (--mention to mention users)
  thread        print a thread: its root and replies, oldest first
  threads       list a room's threads, latest activity first, with your unread replies
  unread        mark a room unread from a message on
  delete        delete any message of a room, for moderation (service key)
  disconnect    close every connection of a user in every room (service key)
  mute          stop a user sending in a room for --seconds (service key)
  unmute        lift a user's mute in a room (service key)
  ban           close a user's sockets in a room and keep them out for --seconds (service key)
  unban         lift a user's ban from a room (service key)
  moderation    list a room's active mutes and bans (service key)
  members       add|remove members of a room (needs the service key)
  smoke         post-deploy check: two users, messages both ways, history, injection, counts

Common options:
  --ws URL           WebSocket endpoint, ws://host:8888 or wss://... (env HIPOCHAT_WS_URL)
  --http URL         HTTP API base, http://host:8888 (env HIPOCHAT_HTTP_URL; default: from --ws)
  --room R           room name (letters, digits, - . : , _)
  --token T          your token; in dev mode any name (env HIPOCHAT_TOKEN)
  --service-key K    HIPOCHAT_SERVICE_KEY of the stack (env HIPOCHAT_SERVICE_KEY)
  --timeout S        seconds before giving up (default 15; smoke: 60 in total)
  --json             print raw JSON instead of lines
  -h, --help         help (also: hipochat <command> --help)

Examples:
  hipochat chat --ws ws://127.0.0.1:8888 --room lobby --token alice
  echo '{"order":42}' | hipochat inject --http http://127.0.0.1:8888 --room lobby --type notification --token alice
  hipochat history --http http://127.0.0.1:8888 --room lobby,news --token alice --limit 20
  hipochat notification --http http://127.0.0.1:8888 --room lobby --token bob
  hipochat chat --ws ws://127.0.0.1:8888 --room lobby --token bob --signals
  hipochat chat --ws ws://127.0.0.1:8888 --rooms lobby,news --token carol
  hipochat presence --http http://127.0.0.1:8888 --room lobby --token alice
  echo '{"text":"maintenance at 22:00"}' | hipochat broadcast --http http://127.0.0.1:8888 --rooms lobby,news --type notification --service-key KEY
  hipochat tail --ws ws://127.0.0.1:8888 --room lobby --token carol
  hipochat edit --ws ws://127.0.0.1:8888 --room lobby --id 1700000000000-0 --token alice --body '"hello again"'
  hipochat react --ws ws://127.0.0.1:8888 --room lobby --id 1700000000000-0 --token bob --emoji 👍
  hipochat delete --http http://127.0.0.1:8888 --room lobby --id 1700000000000-0 --service-key KEY
  hipochat disconnect --http http://127.0.0.1:8888 --user mallory --service-key KEY
  hipochat reply --ws ws://127.0.0.1:8888 --room lobby --id 1700000000000-0 --token bob --mention alice on it
  hipochat thread --http http://127.0.0.1:8888 --room lobby --id 1700000000000-0 --token alice
  hipochat threads --http http://127.0.0.1:8888 --room lobby --token alice
  hipochat unread --http http://127.0.0.1:8888 --room lobby --id 1700000000000-0 --token alice
  hipochat mute --http http://127.0.0.1:8888 --room lobby --user mallory --seconds 600 --service-key KEY
  hipochat ban --http http://127.0.0.1:8888 --room lobby --user mallory --seconds 86400 --service-key KEY
  hipochat moderation --http http://127.0.0.1:8888 --room lobby --service-key KEY
  hipochat members add --http http://127.0.0.1:8888 --room vip --service-key KEY alice bob
  hipochat smoke --ws ws://127.0.0.1:8888 --http http://127.0.0.1:8888
`;

/** Each command's help (`hipochat <command> --help`); its first line is the usage line. */
export const COMMAND_HELP: Record<string, string> = {
  chat: `hipochat chat --ws URL (--room R | --rooms R1,R2...) --token T [--http URL] [--ticket] [--signals] [--timeout S]

Joins the room, prints its history (a line marks where the unread part starts), then live
messages. Each line you type is sent; /quit or Ctrl-D leaves. Reconnects on its own.
With stdin not a terminal, sends each line and exits at the end of input.
With --signals it also prints who joins and leaves the room and who starts typing
("* bob is typing…"), edits and deletes ("* edited: …", "* deleted: …"), and tells the
room when you type.
With --rooms it follows several rooms on one connection (live messages only, each line
starting with [room]); a line goes to the first room, or to another with "@room text".
`,
  tail: `hipochat tail --ws URL --room R --token T [--json] [--timeout S]

Follows the room without sending anything: prints its recent history, then each new message
(with --json one JSON object a line), reconnecting on its own, until interrupted (Ctrl-C or
SIGTERM), then exits 0.
`,
  edit: `hipochat edit (--ws URL --token T | --http URL --service-key K) --room R --id MESSAGE_ID [--body JSON] [--json] [--timeout S] < body.json

Replaces the body of a message with the JSON of --body or stdin (a chat line is a JSON string:
'"new text"'). With --token the user edits one of their own messages over the WebSocket API;
with --service-key the backend edits any message (moderation). Live clients see the change.
`,
  react: `hipochat react --ws URL --room R --id MESSAGE_ID --emoji E --token T [--json] [--timeout S]

Toggles the user's reaction E on a message: the first call adds it, a second takes it back.
`,
  inject: `hipochat inject --http URL --room R --type T (--token T | --service-key K) [--body JSON] [--json] [--timeout S] < body.json

Posts a JSON body into the room as a message of type T (for example notification). With the
service key the backend is the author. Prints the stored message.
`,
  history: `hipochat history --http URL --room R[,R2...] --token T [--limit N] [--json] [--timeout S]

Prints the latest N (default 20) messages and your unread count of each room.
`,
  notification: `hipochat notification --http URL --room R --token T [--json] [--timeout S]

Prints your unread count in the room.
`,
  presence: `hipochat presence --http URL --room R --token T [--json] [--timeout S]

Prints who is online in the room, one user a line (each user once, however many tabs).
`,
  broadcast: `hipochat broadcast --http URL --rooms R1,R2... --type T --service-key K [--body JSON] [--json] [--timeout S] < body.json

Posts one JSON body as a message of type T into every room (at most 100) as the backend, in one
call; prints the stored message of each room. --rooms splits at commas: for a room whose name has
a comma, call POST /talk/broadcast/ (or the client library's broadcast) instead.
`,
  delete: `hipochat delete --http URL --room R --id MESSAGE_ID --service-key K [--json] [--timeout S]

Deletes a message of the room as the backend (moderation): it stays in the history as a
tombstone without its body ("This message was deleted"), and live clients see it go. Prints the
tombstone's id; exits 1 when the room has no such message.
`,
  disconnect: `hipochat disconnect --http URL --user USER_ID --service-key K [--json] [--timeout S]

Closes every connection of the user in every room, for example after revoking their token (an
open socket otherwise keeps the identity it connected with). Prints how many were closed.
`,
  reply: `hipochat reply (--ws URL --token T | --http URL --service-key K) --room R --id ROOT_ID [--mention U1,U2] [--json] [--timeout S] [TEXT...]

Replies with TEXT (the arguments, or stdin without them) in the thread of message ROOT_ID, a
message of the room that is no reply itself. --mention names users the reply mentions (at most
20, comma-separated). With --token the user replies over the WebSocket API; with --service-key
the backend does over HTTP. Prints the reply's id. A reply moderation refuses exits 1 with the
server's reason (and the seconds left of a mute).
`,
  thread: `hipochat thread --http URL --room R --id ROOT_ID --token T [--limit N] [--before ID] [--json] [--timeout S]

Prints the thread of message ROOT_ID: the root, then its replies oldest first (the newest N with
--limit; those older than ID with --before). Reading the newest page marks the thread read.
Exits 1 when the room has no such message or it is a reply.
`,
  threads: `hipochat threads --http URL --room R --token T [--limit N] [--json] [--timeout S]

Lists the room's threads, latest activity first (at most N, 1-200; default 50): the root's id,
its reply count, your unread replies and the start of the root.
`,
  unread: `hipochat unread --http URL --room R --id MESSAGE_ID --token T [--json] [--timeout S]

Marks the room unread from message MESSAGE_ID on (your read mark moves to just before it) and
prints your unread count from there, with the mentions of you among them.
`,
  mute: `hipochat mute --http URL --room R --user USER_ID --seconds N --service-key K [--json] [--timeout S]

Mutes the user in the room for N seconds: their sends are refused with the seconds left, while
they keep reading and appearing online. A new mute replaces the old one; unmute lifts it.
`,
  unmute: `hipochat unmute --http URL --room R --user USER_ID --service-key K [--json] [--timeout S]

Lifts the user's mute in the room.
`,
  ban: `hipochat ban --http URL --room R --user USER_ID --seconds N --service-key K [--json] [--timeout S]

Bans the user from the room for N seconds: their sockets in the room close (it prints how many)
and their connects, subscribes, sends and history reads are refused until it ends; unban lifts it.
`,
  unban: `hipochat unban --http URL --room R --user USER_ID --service-key K [--json] [--timeout S]

Lifts the user's ban from the room.
`,
  moderation: `hipochat moderation --http URL --room R --service-key K [--json] [--timeout S]

Lists the room's active mutes and bans, soonest end first, with the time left of each.
`,
  members: `hipochat members add|remove --http URL --room R --service-key K [--timeout S] USER_ID...

Adds users to the room (new-chat-room) or removes them and closes their sockets (unsubscribe).
`,
  smoke: `hipochat smoke --ws URL --http URL [--token-a T] [--token-b T] [--service-key K] [--room R] [--timeout S]

Connects two users to a fresh room, sends a message each way, checks history, an injection
(with --service-key: that the backend's injection has \`author: null\`) and unread counts. Prints PASS/FAIL per step and exits non-zero on a failure. Dev tokens
(random names) are used unless --token-a/--token-b are given.
`,
};

/** The one-line usage of a command (the first line of its help), or of the CLI. */
export function usageOf(command: string): string {
  return (
    COMMAND_HELP[command]?.split('\n')[0] ?? 'hipochat <command> [options]   (hipochat --help lists them)'
  );
}
