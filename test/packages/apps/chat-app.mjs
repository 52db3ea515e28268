// An app that installed @hipochat/client: two users chat, the server restarts, they chat again.
// Prints one JSON line per step; the test restarts the gateway when it reads `{"step":"restart"}`
// and answers on stdin when it is back.
import { createInterface } from 'node:readline';
import { HipochatClient } from '@hipochat/client';

const [url, room] = process.argv.slice(2);
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
const lines = createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once('line', resolve));
// Resolves once `check` holds, looking again at each event named `event` of `client`.
const when = (client, event, check) =>
  new Promise((resolve) => {
    if (check()) return resolve();
    const off = client.on(event, (...args) => {
      if (!check(...args)) return;
      off();
      resolve();
    });
  });
const until = (client, check) => when(client, 'state', check);

const reconnect = { initialDelayMs: 100, maxDelayMs: 500 };
const ann = new HipochatClient({ url, room, token: 'ann', reconnect });
const bo = new HipochatClient({ url, room, token: 'bo', reconnect });
const heard = [];
const states = [];
bo.on('message', (message) => heard.push(message.body));
bo.on('state', (change) => states.push(change.state));
const received = (body) => when(bo, 'message', () => heard.includes(body));

await Promise.all([ann.connect(10_000), bo.connect(10_000)]);
const first = received('hello');
await ann.send('hello');
await first;
say({ step: 'restart' });
await until(bo, () => bo.state === 'reconnecting');
await nextLine();
await until(ann, () => ann.state === 'live');
await until(bo, () => bo.state === 'live');
const second = received('again');
await ann.send('again');
await second;
say({ step: 'done', heard, states });
ann.close();
bo.close();
lines.close();
