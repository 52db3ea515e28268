import type { MemberList } from '../../core/chat-service.js';
import { BadRequestError } from '../../core/errors.js';
import { parseJson } from '../../core/protocol.js';
import type { HttpRequest } from './http.js';

const MAX_BODY_BYTES = 256 * 1024;

function strings(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new BadRequestError(`${field} must be an array of strings`);
  }
  return value as string[];
}

/** Reads `{"members": [...]}` / `{"tokens": [...]}` JSON or Hipochat's form field `tokens`. */
export function memberList(request: HttpRequest): MemberList {
  const text = request.body();
  if (request.contentKind(['json', 'form']) === 'form') {
    const form = new URLSearchParams(text ?? '');
    return { members: form.getAll('members'), tokens: form.getAll('tokens') };
  }
  const data = parseJson(text, MAX_BODY_BYTES);
  if (!data || typeof data !== 'object' || Array.isArray(data))
    throw new BadRequestError('body must be a JSON object');
  const record = data as Record<string, unknown>;
  return { members: strings(record.members, 'members'), tokens: strings(record.tokens, 'tokens') };
}
