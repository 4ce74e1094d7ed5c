// Weekly questions: the validated questionnaires the server says are due (PEG every 7 days, PGIC
// once treatment has started), with their exact wording from GET /me/questionnaires. Answers go
// straight to PUT /me/questionnaires/{instrument}/{date}: this screen needs a connection.

import { ApiError, call, Offline } from "../api.js";
import { add, h, nextId } from "../dom.js";
import { t } from "../i18n.js";

export async function render(main) {
  add(main, h("h2", {}, t("weekly.title")));
  const note = h("p", { class: "hint", role: "status" });
  const body = h("div", { class: "stack" });
  add(main, note, body);
  let listed;
  try {
    listed = await call("GET", "/me/questionnaires");
  } catch (err) {
    note.textContent = err instanceof Offline ? t("weekly.offline") : t("error.generic");
    return;
  }
  const due = listed.questionnaires.filter((q) => q.due);
  if (!due.length) {
    note.textContent = t("weekly.none_due");
    return;
  }
  for (const q of due) add(body, form(q, listed.date));
}

function form(q, date) {
  const status = h("p", { class: "hint", role: "status" });
  const inputs = {};
  const fieldsets = q.items.map((item) => {
    const name = nextId(item.id);
    const choices = item.type === "choice"
      ? item.options.map((o) => [o.value, `${o.value}: ${o.text}`])
      : Array.from({ length: item.max - item.min + 1 }, (_, i) => [item.min + i, String(item.min + i)]);
    inputs[item.id] = name;
    const scale = item.type !== "choice";
    return h(
      "fieldset",
      { class: scale ? "scale question" : "question" },
      h("legend", {}, item.text),
      h(
        "div",
        { class: scale ? "choices" : "options" },
        choices.map(([value, label]) =>
          scale
            ? h("label", { class: "choice" }, h("input", { type: "radio", name, value: String(value) }), h("span", { class: "num" }, label))
            : h("label", { class: "chip" }, h("input", { type: "radio", name, value: String(value) }), label),
        ),
      ),
      scale ? h("p", { class: "ends" }, h("span", {}, `${item.min} ${item.low_anchor}`), h("span", {}, `${item.max} ${item.high_anchor}`)) : null,
    );
  });
  const el = h(
    "form",
    { class: "card", "data-instrument": q.instrument },
    h("h3", {}, q.title),
    fieldsets,
    h("button", { type: "submit" }, t("weekly.save")),
    status,
  );
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    const answers = {};
    for (const [item, name] of Object.entries(inputs)) {
      const picked = el.querySelector(`input[name="${name}"]:checked`);
      if (picked) answers[item] = Number(picked.value);
    }
    if (!Object.keys(answers).length) {
      status.textContent = t("weekly.pick_one");
      return;
    }
    try {
      await call("PUT", `/me/questionnaires/${q.instrument}/${date}`, {
        answers,
        recorded_at: new Date().toISOString(),
      });
      status.textContent = t("weekly.saved");
      el.querySelector("button").disabled = true;
    } catch (err) {
      status.textContent = err instanceof Offline ? t("weekly.offline") : err instanceof ApiError ? t("error.generic") : String(err);
    }
  });
  return el;
}
