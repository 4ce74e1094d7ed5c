// The last 60 days as this phone knows them; each opens its check-in to edit.

import { getAll } from "../db.js";
import { lastDays } from "../days.js";
import { add, h } from "../dom.js";
import { num, shortDay, t } from "../i18n.js";
import { today } from "../state.js";

export const DAYS = 60;
let root = null;

export async function render(main) {
  root = main;
  const [entries, doses, outbox] = await Promise.all([getAll("entries"), getAll("doses"), getAll("outbox")]);
  const byDay = Object.fromEntries(entries.map((e) => [e.date, e]));
  const dosesByDay = {};
  for (const d of doses) (dosesByDay[d.local_date] ||= []).push(d);
  const states = {};
  for (const item of outbox) {
    const day = item.kind === "entry" ? item.id : null;
    if (day) states[day] = item.state;
  }
  for (const d of doses) {
    const item = outbox.find((i) => i.key === `dose:${d.id}`);
    if (item && !states[d.local_date]) states[d.local_date] = item.state;
  }
  add(main, 
    h("h2", {}, t("history.title")),
    h("p", { class: "hint" }, t("history.intro", { count: DAYS })),
    h(
      "ul",
      { class: "days" },
      lastDays(today(), DAYS).map((day) => {
        const entry = byDay[day];
        const lines = summaryLine(entry, dosesByDay[day] || []);
        const state = states[day];
        return h(
          "li",
          {},
          h(
            "a",
            { href: `#/day/${day}`, class: entry || dosesByDay[day] ? "day logged" : "day" },
            h("span", { class: "date" }, shortDay(day)),
            h("span", { class: "what" }, lines),
            state ? h("span", { class: `tag ${state}` }, t(`history.state_${state}`)) : null,
          ),
        );
      }),
    ),
  );
}

export function refresh() {
  if (root && root.isConnected) {
    const y = window.scrollY;
    root.replaceChildren();
    render(root).then(() => window.scrollTo(0, y));
  }
}

export function leave() {
  root = null;
}

function summaryLine(entry, doses) {
  const bits = [];
  if (entry) {
    // Pain first: the measure the clinic follows; the day's screen has the rest.
    if (entry.pain !== null && entry.pain !== undefined) bits.push(`${t("field.pain")} ${entry.pain}`);
    if (entry.sleep_hours !== null && entry.sleep_hours !== undefined) bits.push(t("history.sleep", { hours: num(entry.sleep_hours, 2) }));
    if ((entry.side_effects || []).length) bits.push(t("history.effects", { count: entry.side_effects.length }));
    if (entry.notes) bits.push(t("history.notes"));
  }
  for (const d of doses) bits.push(d.status === "taken" ? t("history.dose", { mg: num(d.amount_mg, 3) }) : t("history.skipped"));
  return bits.length ? bits.join(" · ") : t("history.empty");
}
