/**
 * `npm run docs`: regenerates the generated parts of docs/ (the configuration table, and the
 * figures quoted from the bench's latest results). `-- --check` only reports what differs and exits 1.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { committed, generatedDocs, ROOT } from './generated-docs.js';

function main(check: boolean): number {
  let stale = 0;
  for (const [path, content] of generatedDocs()) {
    if (committed(path) === content) continue;
    stale += 1;
    if (check) console.error(`${path} is out of date: run npm run docs`);
    else {
      writeFileSync(join(ROOT, path), content);
      console.log(`wrote ${path}`);
    }
  }
  return check && stale > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.includes('--check'));
