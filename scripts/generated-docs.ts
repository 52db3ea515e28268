import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigReference } from './config-reference.js';
import { type Figures, fillFigures } from './doc-figures.js';

/** The repository's root. */
export const ROOT = join(import.meta.dirname, '..');

/** Pages written whole by a generator: figures are never filled into them. */
const WHOLLY_GENERATED = new Set(['docs/configuration.md', 'docs/reliability.md']);

/** README.md and the pages of docs/ that may quote figures (every hand-written one). */
export function figureDocs(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs.filter((path) => !WHOLLY_GENERATED.has(path))];
}

/** A file's committed content, empty when it does not exist. */
export function committed(path: string): string {
  try {
    return readFileSync(join(ROOT, path), 'utf8');
  } catch {
    return '';
  }
}

/**
 * Each generated file of docs/ (path from the root) and the content it must have: the
 * configuration table, and, given `figures`, every page with those figures filled in.
 */
export function generatedDocs(figures?: Figures): Map<string, string> {
  const docs = new Map([['docs/configuration.md', renderConfigReference()]]);
  if (figures) for (const path of figureDocs()) docs.set(path, fillFigures(committed(path), figures));
  return docs;
}
