// Which tiles the stage shows: a pinned tile or the active speaker featured
// large, the rest in pages of at most `perPage` tiles. Pure; the view applies it.

export type LayoutMode = 'grid' | 'speaker';

export interface LayoutInput {
  /** Every remote tile, in display order (the self view is not among them). */
  keys: readonly string[];
  mode: LayoutMode;
  /** A tile the user pinned: featured in either mode while it exists. */
  pinned?: string;
  /** The tile of whoever speaks now (speaker mode). */
  speaker?: string;
  page: number;
  /** Tiles per screen, counting the self view, which is on every page. */
  perPage: number;
}

export interface Layout {
  featured?: string;
  /** The other remote tiles on this page. */
  shown: string[];
  /** The page shown (clamped), and how many there are. */
  page: number;
  pages: number;
}

export function arrange(i: LayoutInput): Layout {
  const has = (k: string | undefined): k is string => k !== undefined && i.keys.includes(k);
  const featured = has(i.pinned) ? i.pinned : i.mode === 'speaker' ? (has(i.speaker) ? i.speaker : i.keys[0]) : undefined;
  const rest = i.keys.filter((k) => k !== featured);
  // The self view and the featured tile are on every page.
  const slots = Math.max(1, Math.floor(i.perPage) - 1 - (featured ? 1 : 0));
  const pages = Math.max(1, Math.ceil(rest.length / slots));
  const page = Math.min(Math.max(0, Math.floor(i.page)), pages - 1);
  return { featured, shown: rest.slice(page * slots, (page + 1) * slots), page, pages };
}

/** Tiles per screen when the user has not chosen: what stays legible at this size. */
export function autoPerPage(width: number, height: number): number {
  if (width < 640) return height < 700 ? 2 : 4;
  if (width < 1400) return 9;
  return 16;
}

export const PER_PAGE_CHOICES = [2, 4, 9, 16, 25] as const;
