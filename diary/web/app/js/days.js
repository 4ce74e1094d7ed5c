// Diary days and instants. A diary day is the patient's local date (YYYY-MM-DD) in their
// zone; an instant the phone sends carries the phone's own UTC offset.

const pad = (n, w = 2) => String(n).padStart(w, "0");

/** The date YYYY-MM-DD in time zone `tz` at instant `now`. */
export function dateIn(tz, now = new Date()) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit",
  }).formatToParts(now);
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** `day` moved by `n` days (calendar arithmetic, no zones involved). */
export function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** Whether `text` is a real calendar date YYYY-MM-DD. */
export function isDay(text) {
  return /^\d{4}-\d{2}-\d{2}$/.test(text || "") && addDays(text, 0) === text;
}

/** An instant as ISO-8601 with the phone's UTC offset at that instant (never a bare Z). */
export function isoWithOffset(date) {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `.${pad(date.getMilliseconds(), 3)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

/** The phone-local instant of wall time `hhmm` on calendar date `day`. */
export function localInstant(day, hhmm) {
  const [y, m, d] = day.split("-").map(Number);
  const [hh, mm] = hhmm.split(":").map(Number);
  return new Date(y, m - 1, d, hh, mm, 0, 0);
}

/** HH:MM of a Date in phone-local time. */
export function hhmm(date) {
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The calendar date and HH:MM written in an ISO instant with offset (its own local reading). */
export function ownLocal(iso) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso || "");
  return m ? { day: m[1], time: m[2] } : null;
}

/** A recorded_at that is now, and later than `after` (ISO) if given, so the phone's version wins. */
export function recordedAfter(after) {
  let now = new Date();
  if (after) {
    const floor = new Date(Date.parse(after) + 1);
    if (floor > now) now = floor;
  }
  return isoWithOffset(now);
}

/** The last `n` diary days ending at `today`, newest first. */
export function lastDays(today, n) {
  return Array.from({ length: n }, (_, i) => addDays(today, -i));
}
