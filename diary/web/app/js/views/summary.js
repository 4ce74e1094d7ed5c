// My summary: the server's analysis of the patient's own diary (/me/report), in plain words.
// The last one fetched stays on the phone, so it can be read offline (marked with its date).

import { call, Offline } from "../api.js";
import { getMeta, setMeta } from "../db.js";
import { add, h } from "../dom.js";
import { dayName, num, t } from "../i18n.js";
import { SCORES } from "./checkin.js";

const MEASURES = [...SCORES.map(([name]) => name), "sleep_hours"];

export async function render(main) {
  add(main, h("h2", {}, t("summary.title")));
  const note = h("p", { class: "hint", role: "status" });
  const body = h("div", { class: "stack" });
  add(main, note, body);
  let report = null;
  try {
    report = await call("GET", "/me/report");
    await setMeta("report", { report, at: new Date().toISOString() });
  } catch (err) {
    const kept = await getMeta("report");
    if (kept) {
      report = kept.report;
      note.textContent = t("summary.kept", { when: new Date(kept.at).toLocaleString() });
    } else {
      note.textContent = err instanceof Offline ? t("summary.offline") : t("error.generic");
      return;
    }
  }
  add(body, ...words(report));
}

/** The report as short paragraphs a patient can read; missing data is said, never guessed. */
export function words(report) {
  const out = [];
  const p = report.period || {};
  const c = report.completeness || {};
  out.push(
    h("section", { class: "card" },
      h("h3", {}, t("summary.period", { from: dayName(p.from, true), to: dayName(p.to, true) })),
      h("p", {}, t("summary.logged", { logged: c.days_logged ?? 0, days: c.days_in_period ?? p.days ?? 0 }))),
  );

  const comparison = report.baseline_comparison || {};
  const changes = [];
  for (const name of MEASURES) {
    const m = (comparison.measures || {})[name];
    if (!m) continue;
    if (m.classification === "insufficient_data" || m.baseline_mean === null || m.baseline_mean === undefined || m.current_mean === null || m.current_mean === undefined) {
      changes.push(h("li", {}, t("summary.change_unknown", { measure: t(`field.${name}`) })));
      continue;
    }
    changes.push(
      h("li", {}, t(name === "sleep_hours" ? "summary.change_hours" : "summary.change", {
        measure: t(`field.${name}`),
        before: num(m.baseline_mean), now: num(m.current_mean),
      }), m.classification ? ` ${t(`summary.class_${m.classification}`)}` : ""),
    );
  }
  if (changes.length) {
    const source = comparison.baseline && comparison.baseline.source;
    out.push(h("section", { class: "card" },
      h("h3", {}, t("summary.compared")),
      h("p", { class: "hint" }, source === "pre_treatment" ? t("summary.baseline_pre") : t("summary.baseline_first")),
      h("ul", {}, changes)));
  } else {
    out.push(h("section", { class: "card" }, h("h3", {}, t("summary.compared")), h("p", {}, t("summary.too_little"))));
  }

  const averages = [];
  for (const name of MEASURES) {
    const m = (report.measures || {})[name];
    if (!m || !m.n) continue;
    averages.push(h("li", {}, t(name === "sleep_hours" ? "summary.average_hours" : "summary.average", {
      measure: t(`field.${name}`), mean: num(m.mean), min: num(m.min, 2), max: num(m.max, 2), n: m.n,
    })));
  }
  if (averages.length) out.push(h("section", { class: "card" }, h("h3", {}, t("summary.averages")), h("ul", {}, averages)));

  const adherence = (report.doses || {}).adherence;
  if (adherence && adherence.planned_days) {
    out.push(h("section", { class: "card" }, h("h3", {}, t("summary.doses")),
      h("p", {}, t("summary.adherence", { taken: adherence.taken_days, planned: adherence.planned_days }))));
  }

  const effects = Object.entries(report.side_effects || {});
  if (effects.length) {
    out.push(h("section", { class: "card" }, h("h3", {}, t("summary.effects")),
      h("ul", {}, effects.map(([name, e]) => h("li", {}, t("summary.effect", {
        name: t(`effect.${name}`), days: e.days_reported, worst: t(`severity.${e.max_severity}`),
        last: dayName(e.last_date),
      }))))));
  }
  out.push(h("p", { class: "hint" }, t("summary.ask")));
  return out;
}
