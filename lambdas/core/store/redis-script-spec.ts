/**
 * How a Lua script of the store is declared and called: its keys and arguments have names, in the
 * order the Lua reads them (`KEYS[1]` is the first key named), and a call passes them by name, so
 * no call site depends on positions.
 */

/** A script: its key names, argument names (`ARGV[i]` in order) and Lua. */
export interface ScriptSpec<K extends string = string, A extends string = string> {
  readonly keys: readonly K[];
  readonly args?: readonly A[];
  /** Takes more arguments after the named ones (`ARGV[#args + 1]` on: user ids…). */
  readonly variadic?: true;
  readonly lua: string;
}

/** Declares a script; the names become the call's typed fields. */
export function defineScript<const K extends string, const A extends string = never>(
  spec: ScriptSpec<K, A>,
): ScriptSpec<K, A> {
  return spec;
}

/** The keys a call of `S` passes, by name. */
export type KeysOf<S> = S extends ScriptSpec<infer K, string> ? Record<K, string> : never;

/** The arguments a call of `S` passes, by name. */
export type ArgsOf<S> = S extends ScriptSpec<string, infer A> ? Record<A, string | number> : never;

/** The flat `KEYS…, ARGV…` list of one call, in the script's declared order. */
export function scriptArguments<S extends ScriptSpec>(
  spec: S,
  keys: KeysOf<S>,
  args: ArgsOf<S>,
  rest: readonly (string | number)[] = [],
): (string | number)[] {
  const byKey = keys as Record<string, string>;
  const byArg = args as Record<string, string | number>;
  return [
    ...spec.keys.map((name) => byKey[name]!),
    ...(spec.args ?? []).map((name) => byArg[name]!),
    ...rest,
  ];
}
