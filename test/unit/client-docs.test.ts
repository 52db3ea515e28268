import { readFileSync } from 'node:fs';

/**
 * The public members of a class or interface of the client library, read from its source: the
 * lines at the declaration's first indent that name a method, accessor or field, `private`,
 * `protected` and `@internal` ones (what the client's parts call on each other) aside.
 */
function publicNames(file: string, declaration: string): string[] {
  const path = `packages/client/src/${file}`;
  const text = readFileSync(path, 'utf8');
  const head = new RegExp(`^export (?:class|interface) ${declaration}\\b[^\\n]*\\{\\n`, 'm').exec(text);
  if (!head) throw new Error(`${path} declares no ${declaration}`);
  const body = text.slice(head.index + head[0].length, text.indexOf('\n}', head.index));
  const member = /^ {2}(?:readonly |async |get |set |static )*(\w+)\??[(<:]/;
  const lines = body.split('\n');
  const names = lines
    .filter((line, at) => !/^ {2}(?:private|protected) /.test(line) && !lines[at - 1]?.includes('@internal'))
    .map((line) => member.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== 'constructor');
  return [...new Set(names)];
}

const reference = (() => {
  const doc = readFileSync('docs/client.md', 'utf8');
  const start = doc.indexOf('### Reference');
  if (start < 0) throw new Error('docs/client.md has no "### Reference" section');
  const end = doc.indexOf('\n## ', start);
  return doc.slice(start, end < 0 ? undefined : end);
})();

describe('docs/client.md', () => {
  it.each([
    ['client.ts', 'HipochatClient'],
    ['chat-room.ts', 'ChatRoom'],
    ['rooms.ts', 'RoomSet'],
    ['http.ts', 'HipochatHttp'],
    ['events.ts', 'HipochatEvents'],
    ['events.ts', 'MessageMeta'],
    ['client-options.ts', 'HipochatClientOptions'],
  ])('names every public member of %s %s in its Reference', (file, declaration) => {
    const missing = publicNames(file, declaration).filter((name) => !reference.includes(`\`${name}`));
    expect(missing).toEqual([]);
  });
});
