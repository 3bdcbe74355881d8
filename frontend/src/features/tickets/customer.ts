/** The customer's tickets without the one on screen, at most `max` (the list comes most
 * recently updated first, one longer than shown). */
export function otherTickets<T extends { id: string }>(list: T[] | undefined, current: string, max: number): T[] {
  return (list ?? []).filter((t) => t.id !== current).slice(0, max);
}
