/** Refusals by moderation as the page says them (no DOM, so tests read them in Node). */

/** A refusal by moderation in words; `seconds` left of a mute or ban. */
export function refusalText(reason: string, seconds: number | undefined): string {
  const left = seconds === undefined ? '' : ` for ${seconds} more second${seconds === 1 ? '' : 's'}`;
  if (reason === 'muted') return `You are muted in this room${left}.`;
  if (reason === 'banned') return `You are banned from this room${left}.`;
  return `Your message was rejected: ${reason}.`;
}
