import { IDLE_GOALS, idleCostOfProfiles } from '../../infra/cost/profiles.js';
import { fillFigures, idleFigures, quotedFigures } from '../../scripts/doc-figures.js';
import { committed, figureDocs } from '../../scripts/generated-docs.js';
import { projectRoot, SYNTH_TIMEOUT_MS } from './synth.js';

describe('idle cost quoted in README.md and docs/', () => {
  let figures: ReturnType<typeof idleFigures>;
  beforeAll(() => {
    figures = idleFigures(idleCostOfProfiles(projectRoot), IDLE_GOALS);
  }, SYNTH_TIMEOUT_MS);

  it('is quoted from `npm run cost` somewhere', () => {
    const quoted = figureDocs().flatMap((path) => quotedFigures(committed(path)));
    expect(quoted).toEqual(expect.arrayContaining(['idle-dev', 'idle-prod', 'idle-cost']));
  });

  it.each(figureDocs())('%s quotes what `npm run cost` computes from the synthesized templates', (path) => {
    const unknown = quotedFigures(committed(path)).filter(
      (name) => name.startsWith('idle-') && !figures.has(name),
    );
    expect(unknown).toEqual([]);
    expect(committed(path)).toBe(fillFigures(committed(path), figures));
  });
});
