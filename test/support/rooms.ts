/** A room name no other test or run uses (Redis keeps rooms between runs). */
export function uniqueRoom(prefix = 'room'): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
