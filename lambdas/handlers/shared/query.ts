/**
 * A `?limit=` query parameter: absent stays undefined; not a number is NaN, which the service
 * refuses with the allowed range.
 */
export function limitOf(raw: string | undefined): number | undefined {
  return raw === undefined ? undefined : /^\d{1,7}$/.test(raw) ? Number(raw) : Number.NaN;
}
