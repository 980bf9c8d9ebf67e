/** Filtering and grouping of the discover page (pure; no chain). */

export interface Listed {
  id: bigint;
  title: string;
  description: string;
  category: string;
  live: boolean;
  viewers: number;
  /** The creator's display name, if the creator set a profile. */
  profile?: { name: string } | null;
}

/** Categories present, most streams first, then by name. */
export function categoriesOf(rows: Listed[]): string[] {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.category, (counts.get(r.category) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([c]) => c);
}

/**
 * Rows matching `category` ('' = all) and every word of `query` (in title, description, category or
 * the creator's name, case-insensitive); live streams first, then by viewers, then newest.
 */
export function filterStreams<T extends Listed>(rows: T[], category: string, query: string, liveOnly = false): T[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return rows
    .filter((r) => (!category || r.category === category) && (!liveOnly || r.live))
    .filter((r) => {
      const text = `${r.title} ${r.description} ${r.category} ${r.profile?.name ?? ''}`.toLowerCase();
      return words.every((w) => text.includes(w));
    })
    .sort((a, b) => Number(b.live) - Number(a.live) || b.viewers - a.viewers || (a.id < b.id ? 1 : -1));
}

/**
 * A generated thumbnail's colours and glyph for a stream (no images are stored on chain yet): two hues
 * derived from the id and the title, and the category's initial.
 */
export function thumbnailStyle(id: bigint, title: string, category: string): { from: string; to: string; glyph: string } {
  let h = Number(id % 360n) * 37;
  for (const ch of title) h = (h * 31 + ch.charCodeAt(0)) % 360;
  const h2 = (h + 40 + (category.length * 23) % 80) % 360;
  return { from: `hsl(${h} 70% 42%)`, to: `hsl(${h2} 75% 28%)`, glyph: (category.trim()[0] ?? '?').toUpperCase() };
}

/**
 * How a creator is drawn when no avatar image can be shown: the name's first letter (or the address's)
 * on a colour derived from the address, so one creator always looks the same and two rarely alike.
 */
export function avatarStyle(address: string, name: string | null): { background: string; glyph: string } {
  let h = 0;
  for (const ch of address) h = (h * 33 + ch.charCodeAt(0)) % 360;
  const glyph = [...(name?.trim() || address)][0]?.toUpperCase() ?? '?';
  return { background: `hsl(${h} 55% 38%)`, glyph };
}

/** `5Grw…utQY`: the start and end of an address, for beside a name that anyone could have chosen. */
export function shortAddress(address: string): string {
  return address.length > 12 ? `${address.slice(0, 4)}…${address.slice(-4)}` : address;
}
