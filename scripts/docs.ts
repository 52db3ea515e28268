/**
 * `npm run docs`: regenerates the generated parts of docs/: the configuration table, and the
 * figures quoted from the bench's latest results and `npm run cost` (synthesizes the templates, so
 * about 20 s). `-- --check` only reports what differs and exits 1.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IDLE_GOALS, idleCostOfProfiles } from '../infra/cost/profiles.js';
import { benchFigures, idleFigures, latestBenchRun } from './doc-figures.js';
import { committed, generatedDocs, ROOT } from './generated-docs.js';
import { routeFigures } from './route-docs.js';

function main(check: boolean): number {
  const figures = new Map([
    ...benchFigures(latestBenchRun()),
    ...routeFigures(),
    ...idleFigures(idleCostOfProfiles(ROOT), IDLE_GOALS),
  ]);
  let stale = 0;
  for (const [path, content] of generatedDocs(figures)) {
    if (committed(path) === content) continue;
    stale += 1;
    if (check) console.error(`${path} is out of date: run npm run docs`);
    else {
      writeFileSync(join(ROOT, path), content);
      console.log(`wrote ${path} (then npm run format, should a table's padding have moved)`);
    }
  }
  return check && stale > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.includes('--check'));
