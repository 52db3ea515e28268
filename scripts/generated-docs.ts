import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigReference } from './config-reference.js';

/** The repository's root. */
export const ROOT = join(import.meta.dirname, '..');

/** Each generated file of docs/ (path from the root) and the content it must have. */
export function generatedDocs(): Map<string, string> {
  return new Map([['docs/configuration.md', renderConfigReference()]]);
}

/** A file's committed content, empty when it does not exist. */
export function committed(path: string): string {
  try {
    return readFileSync(join(ROOT, path), 'utf8');
  } catch {
    return '';
  }
}
