// The check-in of one day: tonight's dose, six 0-10 scores, sleep hours, side effects, notes.
// Every field is optional, as in the API. Saving writes to the phone; the sync sends it.

import { get, getAll, getMeta } from "../db.js";
import { addDays, hhmm, isDay, isoWithOffset, localInstant, ownLocal } from "../days.js";
import { add, h, nextId } from "../dom.js";
import { dayName, num, t } from "../i18n.js";
import { applyMine, deleteDose, entryKey, keepStored, saveDose, saveEntry } from "../outbox.js";
import { plannedDose, today } from "../state.js";

export const SCORES = [
  ["pain", "scale.none", "scale.worst"],
  ["pain_worst", "scale.none", "scale.worst"],
  ["fatigue", "scale.fatigue_low", "scale.fatigue_high"],
  ["mood", "scale.low", "scale.good"],
  ["sleep_quality", "scale.low", "scale.good"],
  ["function", "scale.low", "scale.good"],
];
export const SIDE_EFFECTS = ["vivid_dreams", "insomnia", "headache", "nausea", "diarrhea", "dizziness", "anxiety", "flu_like", "other"];
const SEVERITIES = ["mild", "moderate", "severe"];

let root = null;
let params = null;
let dirty = false;

export async function render(main, p) {
  root = main;
  params = p;
  dirty = false;
  const day = isDay(p.day) && p.day <= addDays(today(), 1) ? p.day : today();
  const [entry, outbox] = await Promise.all([get("entries", day), getAll("outbox")]);
  const queued = outbox.find((i) => i.key === entryKey(day));
  const doseDay = (i) => (ownLocal(i.body.taken_at || (i.stored && i.stored.taken_at) || "") || {}).day;
  const troubledDoses = outbox.filter((i) => i.kind === "dose" && i.state !== "pending" && doseDay(i) === day);

  add(main, 
    h("h2", {}, heading(day)),
    h("p", { class: "subtitle" }, dayName(day, true)),
    dayLinks(day),
    queued && queued.state === "stale" ? conflictPanel(queued) : null,
    queued && queued.state === "rejected" ? rejectedPanel(queued) : null,
    troubledDoses.map((item) => (item.state === "stale" ? conflictPanel(item) : rejectedPanel(item))),
    doseCard(day),
    entryForm(day, entry),
  );
}

/** Re-read after a sync, unless the patient is in the middle of typing. */
export function refresh() {
  if (!dirty && root && root.isConnected) {
    const focused = document.activeElement && document.activeElement.id;
    root.replaceChildren();
    render(root, params).then(() => {
      const again = focused && document.getElementById(focused);
      if (again) again.focus({ preventScroll: true });
    });
  }
}

export function leave() {
  root = null;
}

function heading(day) {
  const now = today();
  if (day === now) return t("checkin.today");
  if (day === addDays(now, -1)) return t("checkin.yesterday");
  if (day === addDays(now, 1)) return t("checkin.tomorrow");
  return dayName(day);
}

function dayLinks(day) {
  const now = today();
  const yesterday = addDays(now, -1);
  const link = (target, label) =>
    h("a", { href: `#/day/${target}`, class: "chip-link", "aria-current": target === day ? "page" : null }, label);
  return h(
    "nav",
    { class: "day-links", "aria-label": t("checkin.days") },
    link(now, t("checkin.today")),
    link(yesterday, t("checkin.yesterday")),
    day < yesterday ? link(addDays(day, 1), t("checkin.next_day")) : null,
    h("a", { href: "#/history", class: "chip-link" }, t("checkin.earlier")),
  );
}

// -- the dose ------------------------------------------------------------------

function doseCard(day) {
  const card = h("section", { class: "card", "aria-labelledby": "dose-title" });
  fillDose(card, day);
  return card;
}

/** (Re)draw the dose card of `day` from the phone's copy; after each tap it draws itself again. */
async function fillDose(card, day) {
  const [doses, outbox, regimen] = await Promise.all([getAll("doses"), getAll("outbox"), getMeta("regimen")]);
  const dayDoses = doses.filter((d) => d.local_date === day).sort((a, b) => (a.taken_at < b.taken_at ? -1 : 1));
  const queued = Object.fromEntries(outbox.filter((i) => i.kind === "dose").map((i) => [i.id, i]));
  const redraw = () => fillDose(card, day);
  const title = day === today() ? t("dose.tonight") : t("dose.that_day");
  card.replaceChildren(h("h3", { id: "dose-title" }, title));
  if (!regimen) {
    add(card, h("p", { class: "hint" }, t("dose.no_regimen")));
    return;
  }
  const planned = plannedDose(regimen, day);
  for (const dose of dayDoses) {
    const time = ownLocal(dose.taken_at).time;
    const text =
      dose.status === "taken"
        ? t("dose.logged_taken", { mg: num(dose.amount_mg, 3), time })
        : t("dose.logged_skipped", { time });
    const item = queued[dose.id];
    add(
      card,
      h(
        "div",
        { class: "logged" },
        h("p", {}, h("strong", {}, text), item && item.state === "pending" ? h("span", { class: "tag" }, t("sync.waiting_tag")) : null),
        h("button", { type: "button", class: "link", onclick: () => deleteDose(dose.id).then(redraw) }, t("dose.remove"),
          h("span", { class: "visually-hidden" }, ` ${text}`)),
      ),
    );
  }
  if (planned === null) {
    add(card, h("p", { class: "hint" }, t("dose.none_planned")));
    return;
  }
  if (dayDoses.length) return;
  const defaultTime = day === today() ? hhmm(new Date()) : regimen.dose_time;
  const timeId = nextId("dose-time");
  const timeInput = h("input", { type: "time", id: timeId, value: defaultTime, required: true });
  const log = (status) => {
    const time = timeInput.value || defaultTime;
    saveDose({
      medication: regimen.medication,
      amount_mg: planned,
      taken_at: isoWithOffset(localInstant(day, time)),
      status,
      note: null,
    }).then(redraw);
  };
  add(
    card,
    h("p", { class: "hint" }, t("dose.planned", { mg: num(planned, 3), medication: regimen.medication })),
    h(
      "div",
      { class: "dose-actions" },
      h("button", { type: "button", class: "primary", onclick: () => log("taken") }, t("dose.took", { mg: num(planned, 3) })),
      h("button", { type: "button", onclick: () => log("skipped") }, t("dose.skipped")),
    ),
    h("div", { class: "field inline" }, h("label", { for: timeId }, t("dose.time")), timeInput),
  );
}

// -- conflicts and refusals ----------------------------------------------------

/** Words for an entry or dose, for side-by-side comparison and the history list. */
export function describe(kind, record) {
  if (!record) return [t("conflict.deleted")];
  if (kind === "dose") {
    const time = ownLocal(record.taken_at).time;
    return [record.status === "taken" ? t("dose.logged_taken", { mg: num(record.amount_mg, 3), time }) : t("dose.logged_skipped", { time })];
  }
  const lines = [];
  for (const [name] of SCORES) {
    if (record[name] !== null && record[name] !== undefined) lines.push(`${t(`field.${name}`)}: ${record[name]}`);
  }
  if (record.sleep_hours !== null && record.sleep_hours !== undefined) lines.push(`${t("field.sleep_hours")}: ${num(record.sleep_hours, 2)}`);
  for (const s of record.side_effects || []) {
    lines.push(`${t(`effect.${s.name}`)}: ${t(`severity.${s.severity}`)}${s.note ? ` (${s.note})` : ""}`);
  }
  if (record.notes) lines.push(`${t("field.notes")}: ${record.notes}`);
  return lines;
}

function conflictPanel(item) {
  const mine = item.op === "delete" ? null : item.body;
  const version = (title, record) =>
    h("div", { class: "version" }, h("h4", {}, title), h("ul", {}, describe(item.kind, record).map((line) => h("li", {}, line))));
  return h(
    "section",
    { class: "card conflict", role: "group", "aria-labelledby": `c-${item.key}` },
    h("h3", { id: `c-${item.key}` }, item.kind === "entry" ? t("conflict.title") : t("conflict.dose_title")),
    h("p", {}, t("conflict.intro")),
    h("div", { class: "versions" }, version(t("conflict.stored"), item.stored), version(t("conflict.mine"), mine)),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", onclick: () => keepStored(item.key) }, t("conflict.keep_stored")),
      h("button", { type: "button", class: "primary", onclick: () => applyMine(item.key) }, t("conflict.use_mine")),
    ),
  );
}

function rejectedPanel(item) {
  const reasons = [];
  const walk = (errors, path) => {
    if (Array.isArray(errors)) {
      errors.forEach((m) => reasons.push(`${path.length ? `${t(`field.${path[0]}`)}: ` : ""}${typeof m === "string" ? m : JSON.stringify(m)}`));
    } else if (errors && typeof errors === "object") {
      for (const [k, v] of Object.entries(errors)) walk(v, k === "_schema" ? path : path.length ? path : [k]);
    }
  };
  walk(item.errors, []);
  return h(
    "section",
    { class: "card rejected", role: "alert" },
    h("h3", {}, t("rejected.title")),
    h("p", {}, t("rejected.intro")),
    h("ul", {}, reasons.map((r) => h("li", {}, r))),
    item.kind === "dose" ? h("button", { type: "button", onclick: () => keepStored(item.key) }, t("rejected.discard")) : null,
  );
}

// -- the day's entry -----------------------------------------------------------

function entryForm(day, entry) {
  const e = entry || {};
  const saved = h("p", { class: "saved", role: "status", id: "saved-note" });
  const errors = h("div", { class: "error", id: "form-errors", role: "alert" });
  const form = h("form", { class: "stack", novalidate: true, "aria-labelledby": "entry-title" });
  form.addEventListener("input", () => {
    dirty = true;
    saved.textContent = "";
  });

  const scoreGroups = SCORES.map(([name, low, high]) => scale(name, e[name], t(low), t(high)));
  const sleep = h("input", {
    type: "number", id: "sleep_hours", name: "sleep_hours", min: "0", max: "24", step: "0.25", inputmode: "decimal",
    value: e.sleep_hours === null || e.sleep_hours === undefined ? "" : String(e.sleep_hours),
    "aria-describedby": "sleep-hint",
  });
  const effects = sideEffects(e.side_effects || []);
  const notes = h("textarea", { id: "notes", name: "notes", rows: "4", maxlength: "2000" });
  notes.value = e.notes || "";

  add(form, 
    h("h3", { id: "entry-title" }, t("checkin.how")),
    scoreGroups,
    h("div", { class: "field" }, h("label", { for: "sleep_hours" }, t("field.sleep_hours")), sleep,
      h("p", { class: "hint", id: "sleep-hint" }, t("checkin.sleep_hint"))),
    effects.element,
    h("div", { class: "field" }, h("label", { for: "notes" }, t("field.notes")), notes),
    errors,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("checkin.save"))),
    saved,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const fields = {};
    for (const [name] of SCORES) {
      const checked = form.querySelector(`input[name="${name}"]:checked`);
      fields[name] = checked && checked.value !== "" ? Number(checked.value) : null;
    }
    const problems = [];
    sleep.removeAttribute("aria-invalid");
    if (sleep.value.trim() === "") {
      fields.sleep_hours = sleep.validity.badInput ? NaN : null;
    } else {
      fields.sleep_hours = Number(sleep.value);
    }
    if (Number.isNaN(fields.sleep_hours) || fields.sleep_hours < 0 || fields.sleep_hours > 24 || Math.round(fields.sleep_hours * 100) !== fields.sleep_hours * 100) {
      problems.push([sleep, t("checkin.sleep_invalid")]);
    }
    const effectResult = effects.read();
    problems.push(...effectResult.problems);
    fields.side_effects = effectResult.value;
    fields.notes = notes.value.trim() ? notes.value : null;
    if (problems.length) {
      for (const [input, message] of problems) {
        input.setAttribute("aria-invalid", "true");
        errors.append(h("p", {}, message));
      }
      problems[0][0].focus();
      return;
    }
    await saveEntry(day, fields);
    dirty = false;
    saved.textContent = t("checkin.saved");
  });
  return h("section", { class: "card" }, form);
}

function scale(name, value, low, high) {
  const legendId = nextId("legend");
  const choices = [];
  for (let n = 0; n <= 10; n += 1) {
    const id = `${name}-${n}`;
    const words = n === 0 ? low : n === 10 ? high : null;
    choices.push(
      h(
        "label",
        { class: "choice", for: id },
        h("input", { type: "radio", name, id, value: String(n), checked: value === n }),
        h("span", { class: "num" }, String(n)),
        words ? h("span", { class: "visually-hidden" }, ` ${words}`) : null,
      ),
    );
  }
  const clear = h(
    "button",
    {
      type: "button", class: "link clear",
      onclick: (event) => {
        const group = event.target.closest("fieldset");
        group.querySelectorAll("input").forEach((i) => (i.checked = false));
        group.closest("form").dispatchEvent(new Event("input"));
      },
    },
    t("checkin.clear"), h("span", { class: "visually-hidden" }, ` ${t(`field.${name}`)}`),
  );
  return h(
    "fieldset",
    { class: "scale", "aria-labelledby": legendId },
    h("legend", { id: legendId }, t(`field.${name}`)),
    clear,
    h("div", { class: "choices" }, choices),
    h("div", { class: "ends", "aria-hidden": "true" }, h("span", {}, `0 ${low}`), h("span", {}, `10 ${high}`)),
  );
}

function sideEffects(current) {
  const byName = Object.fromEntries(current.map((s) => [s.name, s]));
  const rows = SIDE_EFFECTS.map((name) => {
    const had = byName[name];
    const box = h("input", { type: "checkbox", id: `se-${name}`, name: "side_effect", value: name, checked: Boolean(had) });
    const severityGroup = h(
      "fieldset",
      { class: "severity", hidden: !had },
      h("legend", {}, t("checkin.severity_of", { name: t(`effect.${name}`) })),
      SEVERITIES.map((sev) =>
        h("label", { class: "pill", for: `se-${name}-${sev}` },
          h("input", { type: "radio", name: `se-${name}-severity`, id: `se-${name}-${sev}`, value: sev, checked: (had ? had.severity : "mild") === sev }),
          h("span", {}, t(`severity.${sev}`))),
      ),
    );
    const note = h("input", { type: "text", id: `se-${name}-note`, maxlength: "500", value: (had && had.note) || "" });
    // Only "other" takes a note (the API requires one there).
    const noteField = h("div", { class: "field", hidden: !had || name !== "other" },
      h("label", { for: `se-${name}-note` }, t("checkin.other_note")), note);
    box.addEventListener("change", () => {
      severityGroup.hidden = !box.checked;
      noteField.hidden = !box.checked || name !== "other";
    });
    return { name, box, note, element: h("div", { class: "effect" }, h("label", { class: "chip", for: `se-${name}` }, box, h("span", {}, t(`effect.${name}`))), severityGroup, noteField) };
  });
  return {
    element: h("fieldset", { class: "effects" }, h("legend", {}, t("checkin.side_effects")), h("p", { class: "hint" }, t("checkin.side_effects_hint")), h("div", { class: "list" }, rows.map((r) => r.element))),
    read() {
      const value = [];
      const problems = [];
      for (const row of rows) {
        row.note.removeAttribute("aria-invalid");
        if (!row.box.checked) continue;
        const severity = document.querySelector(`input[name="se-${row.name}-severity"]:checked`);
        const note = row.note.value.trim() || null;
        if (row.name === "other" && !note) problems.push([row.note, t("checkin.other_needs_note")]);
        value.push({ name: row.name, severity: severity ? severity.value : "mild", note: row.name === "other" ? note : null });
      }
      return { value, problems };
    },
  };
}
