// The app's words come from one file per language in ../i18n/ (en.json first). A clinic
// translates the app by copying en.json to, say, de.json and translating the values.

let texts = {};
let fallback = {};
let lang = "en";
let locale = "en"; // for dates and numbers: the phone's own variant of the language (en-GB)

async function load(code) {
  const response = await fetch(`i18n/${code}.json`);
  if (!response.ok) throw new Error(`no text file for ${code}`);
  return response.json();
}

/** Load the phone's preferred language among those the server has (English otherwise). */
export async function init() {
  fallback = await load("en");
  let available = ["en"];
  try {
    available = (await (await fetch("i18n/languages.json")).json()).languages;
  } catch {
    // Offline before the list was cached: English.
  }
  const wanted = (navigator.languages || [navigator.language || "en"]).map((l) => l.toLowerCase());
  const pick =
    wanted.find((l) => available.includes(l)) ||
    wanted.map((l) => l.split("-")[0]).find((l) => available.includes(l)) ||
    "en";
  texts = pick === "en" ? fallback : await load(pick).catch(() => fallback);
  lang = texts === fallback ? "en" : pick;
  locale = (navigator.languages || []).find((l) => l.toLowerCase().split("-")[0] === lang) || lang;
  document.documentElement.lang = lang;
  document.documentElement.dir = texts["meta.direction"] || "ltr";
}

export function language() {
  return lang;
}

/** The text of `key` with `{name}` placeholders filled from `vars`; `.one`/`.other` by `vars.count`. */
export function t(key, vars = {}) {
  let k = key;
  if (typeof vars.count === "number") {
    const form = new Intl.PluralRules(lang).select(vars.count);
    const plural = [`${key}.${form}`, `${key}.other`].find((c) => c in texts || c in fallback);
    if (plural) k = plural;
  }
  const template = texts[k] ?? fallback[k] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** A day YYYY-MM-DD in words ("Friday 4 December"). */
export function dayName(day, withYear = false) {
  const options = { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" };
  if (withYear) options.year = "numeric";
  return new Intl.DateTimeFormat(locale, options).format(new Date(`${day}T00:00:00Z`));
}

/** A short day ("Fri 4 Dec"). */
export function shortDay(day) {
  return new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" })
    .format(new Date(`${day}T00:00:00Z`));
}

/** A number in the language's style (4.5 or 4,5). */
export function num(value, digits = 1) {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value);
}
