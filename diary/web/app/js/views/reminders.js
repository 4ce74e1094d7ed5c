// Reminders: the dose and diary reminder times, and notifications on this phone (Web Push).

import { call, ApiError, Offline } from "../api.js";
import { getMeta, setMeta } from "../db.js";
import { add, h } from "../dom.js";
import { t } from "../i18n.js";

export async function render(main) {
  add(main, h("h2", {}, t("reminders.title")));
  const note = h("p", { class: "hint", role: "status" });
  add(main, note);
  let list = null;
  try {
    list = await call("GET", "/me/reminders");
    await setMeta("reminders", list);
  } catch (err) {
    list = await getMeta("reminders");
    note.textContent = err instanceof Offline ? t("reminders.offline") : t("error.generic");
  }
  if (list) {
    for (const reminder of list.reminders) add(main, reminderForm(reminder));
    if (!list.reminders.some((r) => r.kind === "dose")) add(main, h("p", { class: "hint" }, t("reminders.no_dose")));
  }
  add(main, pushCard());
}

const ready = () =>
  // A service worker that never becomes ready (blocked, private mode) must not hang the screen.
  Promise.race([navigator.serviceWorker.ready, new Promise((resolve) => setTimeout(() => resolve(null), 5000))]);

function reminderForm(reminder) {
  const id = `time-${reminder.kind}`;
  const time = h("input", { type: "time", id, value: reminder.time, required: true });
  const enabled = h("input", { type: "checkbox", id: `on-${reminder.kind}`, checked: reminder.enabled });
  const result = h("p", { class: "saved", role: "status" });
  const form = h(
    "form",
    { class: "card stack", "aria-labelledby": `title-${reminder.kind}` },
    h("h3", { id: `title-${reminder.kind}` }, t(`reminders.${reminder.kind}`)),
    h("div", { class: "field inline" }, h("label", { for: id }, t("reminders.time")), time),
    h("label", { class: "check", for: `on-${reminder.kind}` }, enabled, h("span", {}, t("reminders.enabled"))),
    h("button", { type: "submit" }, t("reminders.save", { kind: t(`reminders.${reminder.kind}`) })),
    result,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    result.textContent = "";
    try {
      await call("PUT", `/me/reminders/${reminder.kind}`, { time: time.value, days: reminder.days, enabled: enabled.checked });
      result.textContent = t("reminders.saved");
    } catch (err) {
      result.textContent = err instanceof Offline ? t("reminders.offline") : (err instanceof ApiError && err.body.message) || t("error.generic");
    }
  });
  return form;
}

function pushCard() {
  const card = h("section", { class: "card stack", "aria-labelledby": "push-title" }, h("h3", { id: "push-title" }, t("push.title")));
  const state = h("p", { role: "status" });
  const button = h("button", { type: "button" });
  add(card, h("p", { class: "hint" }, t("push.intro")), state, button);
  const supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  button.hidden = true;
  if (!supported) {
    state.textContent = t("push.unsupported");
    return card;
  }
  let registration = null;
  const show = async () => {
    const subscription = await registration.pushManager.getSubscription();
    const on = Boolean(subscription) && Notification.permission === "granted";
    state.textContent = Notification.permission === "denied" ? t("push.denied") : on ? t("push.on") : t("push.off");
    button.textContent = on ? t("push.turn_off") : t("push.turn_on");
    button.hidden = Notification.permission === "denied";
    button.onclick = () => (on ? turnOff(subscription) : turnOn()).then(show, (err) => {
      state.textContent = err instanceof Offline ? t("reminders.offline") : t("push.failed");
    });
  };
  const turnOn = async () => {
    if ((await Notification.requestPermission()) !== "granted") return;
    const { public_key: key } = await call("GET", "/me/push/vapid-public-key");
    const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    await call("PUT", "/me/push", { platform: "web", subscription: subscription.toJSON() });
    await setMeta("push", true);
  };
  const turnOff = async (subscription) => {
    await call("DELETE", "/me/push");
    await subscription.unsubscribe();
    await setMeta("push", false);
  };
  ready().then((found) => {
    registration = found;
    if (registration) show();
    else state.textContent = t("push.unsupported");
  });
  return card;
}

/** On every start: tell the server this phone's current subscription (browsers rotate them). */
export async function renewSubscription() {
  if (!("serviceWorker" in navigator) || !(await getMeta("push"))) return;
  const registration = await ready();
  const subscription = registration && (await registration.pushManager.getSubscription());
  if (subscription && Notification.permission === "granted") {
    await call("PUT", "/me/push", { platform: "web", subscription: subscription.toJSON() }).catch(() => {});
  }
}
