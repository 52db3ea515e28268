// zod/mini keeps every handler bundle ~430 KB smaller than classic zod (cold starts).
import * as z from 'zod/mini';

/** How one variable is read: its schema, and the rule in words for error messages. */
export interface Rule<T> {
  readonly schema: z.ZodMiniType<T>;
  /** Completes "<VARIABLE> must be ...". */
  readonly rule: string;
  /** The value may carry a password: an error names the variable but never repeats it. */
  readonly secret?: boolean;
}

export const rule = <T>(schema: z.ZodMiniType<T>, words: string): Rule<T> => ({ schema, rule: words });

export const secret = <T>(of: Rule<T>): Rule<T> => ({ ...of, secret: true });

/** What a variable is for, as docs/configuration.md shows it (`npm run docs:config`). */
export interface Doc {
  readonly meaning: string;
  /** The default in words where the schema's own default does not tell the whole story. */
  readonly shown?: string;
}

export const doc = (meaning: string, shown?: string): Doc =>
  shown === undefined ? { meaning } : { meaning, shown };

/** Absent and empty both mean "not set". */
export const optionalText = rule(
  z.pipe(
    z.optional(z.string()),
    z.transform((value: string | undefined) => value || undefined),
  ),
  'a string',
);

export const anyText = (fallback: string) => rule(z._default(z.string(), fallback), 'a string');

export const text = (fallback: string, pattern = /^.+$/s, words = 'a non-empty string') =>
  rule(z._default(z.string().check(z.regex(pattern)), fallback), words);

export const list = (fallback: string) =>
  rule(
    z.pipe(
      z._default(z.string(), fallback),
      z.transform((value: string) =>
        value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item.length > 0),
      ),
    ),
    'a comma-separated list',
  );

/** A comma-separated list where absent and empty mean "not set" (the caller picks the default). */
export const optionalList = rule(
  z.pipe(
    z.optional(z.string()),
    z.transform((value: string | undefined) => {
      const items = (value ?? '')
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0);
      return items.length > 0 ? items : undefined;
    }),
  ),
  'a comma-separated list',
);

/** An integer in a range; `why` explains a bound that is not obvious, in the error message. */
export const int = (fallback: number, min: number, max: number, why?: string) =>
  rule(
    z._default(z.coerce.number().check(z.refine(Number.isInteger), z.gte(min), z.lte(max)), fallback),
    `an integer from ${min} to ${max}${why ? ` (${why})` : ''}`,
  );

export const fraction = (fallback: number) =>
  rule(z._default(z.coerce.number().check(z.gte(0), z.lte(1)), fallback), 'a number from 0 to 1');

const BOOLEANS = ['true', 'false', '1', '0', 'yes', 'no', ''] as const;

export const bool = (fallback: boolean) =>
  rule(
    z.pipe(
      z._default(z.enum(BOOLEANS), fallback ? 'true' : 'false'),
      z.transform((value: (typeof BOOLEANS)[number]) => ['true', '1', 'yes'].includes(value)),
    ),
    'true or false (or 1/0, yes/no)',
  );

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
  rule(z._default(z.enum(values), fallback), `one of ${values.join(', ')}`);

export const optionalUrl = rule(
  z.optional(
    z.union([
      z.url(),
      z.pipe(
        z.literal(''),
        z.transform(() => undefined),
      ),
    ]),
  ),
  'a URL',
);

/** A default as docs/configuration.md shows it: the schema's own, as Markdown code, or `unset`/`empty`. */
export function shownDefault(schema: z.ZodMiniType<unknown>): string {
  const parsed = schema.safeParse(undefined);
  const value = parsed.success ? parsed.data : undefined;
  if (value === undefined) return 'unset';
  const words = Array.isArray(value) ? value.join(',') : String(value);
  return words === '' ? 'empty' : `\`${words}\``;
}
