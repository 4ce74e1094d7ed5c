// Notifications: the in-app outbox of reminders. Each one shown is acknowledged as read.

import { call, Offline } from "../api.js";
import { getMeta, setMeta } from "../db.js";
import { add, h } from "../dom.js";
import { dayName, t } from "../i18n.js";

export async function render(main) {
  add(main, h("h2", {}, t("notifications.title")));
  const note = h("p", { class: "hint", role: "status" });
  add(main, note);
  let list = null;
  try {
    list = (await call("GET", "/me/notifications")).notifications;
    await setMeta("notifications", list);
  } catch (err) {
    list = (await getMeta("notifications")) || [];
    note.textContent = err instanceof Offline ? t("notifications.offline") : t("error.generic");
  }
  if (!list.length) {
    add(main, h("p", {}, t("notifications.empty")));
    return;
  }
  add(main, 
    h(
      "ul",
      { class: "notes" },
      list.map((n) =>
        h(
          "li",
          { class: n.acked_at ? "card" : "card unread" },
          h("p", {}, h("strong", {}, n.title), n.acked_at ? null : h("span", { class: "tag" }, t("notifications.new"))),
          h("p", {}, n.body),
          h("p", { class: "hint" }, t("notifications.when", { day: dayName(n.local_date), time: new Date(n.due_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) })),
        ),
      ),
    ),
  );
  // Shown is read: acknowledge what this screen displayed.
  const unread = list.filter((n) => !n.acked_at);
  for (const n of unread) {
    try {
      await call("POST", `/me/notifications/${n.id}/ack`);
      n.acked_at = new Date().toISOString();
    } catch {
      break; // offline: acknowledged next time
    }
  }
  if (unread.length) await setMeta("notifications", list);
}
