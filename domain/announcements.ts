/** Announcements the agency publishes (seed 000, point 23: news and planned interruptions of the platform). */

/** Who an announcement is for. */
export const AUDIENCES = ['everyone', 'learners', 'providers', 'staff'] as const;
/** One of AUDIENCES. */
export type Audience = (typeof AUDIENCES)[number];

/** The longest period an announcement may show: a year; anything longer is a typo or belongs on a page of its own. */
export const MAX_SHOW_DAYS = 366;

/** An announcement as the banner needs it. */
export interface BannerAnnouncement {
  id: string; titleLv: string; titleEn: string; bodyLv: string; bodyEn: string; audience: Audience; showsFrom: Date; showsUntil: Date;
}

/**
 * The audience a signed-in role belongs to, or null for a visitor (who sees only announcements for everyone).
 * A coordinator is a learner acting for others: learners' news concerns them; staff and administrators are staff.
 */
export function audienceOfRole(role: string | null | undefined): Exclude<Audience, 'everyone'> | null {
  if (role === 'learner' || role === 'coordinator') return 'learners';
  if (role === 'provider') return 'providers';
  if (role === 'staff' || role === 'admin') return 'staff';
  return null;
}

/** Whether the announcement shows to someone in this role at this instant: their audience (or everyone) and its period. */
export function shownTo(announcement: BannerAnnouncement, role: string | null | undefined, now: Date): boolean {
  const audience = audienceOfRole(role);
  const forThem = announcement.audience === 'everyone' || announcement.audience === audience;
  return forThem && announcement.showsFrom.getTime() <= now.getTime() && now.getTime() < announcement.showsUntil.getTime();
}
