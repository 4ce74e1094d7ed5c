// The app's start: texts, the service worker, the phone's copy, then the screen the URL names.
// Screens: #/day/YYYY-MM-DD (the check-in; #/ is today), #/history, #/summary, #/weekly, #/reminders,
// #/notifications, #/data. The enrollment link is /app/enroll#code=<code>.

import { on as onApi } from "./api.js";
import { getMeta, setMeta } from "./db.js";
import { h, fill } from "./dom.js";
import { init as initTexts, t } from "./i18n.js";
import { onChange } from "./outbox.js";
import { onData, onStatus, start as startSync, status } from "./sync.js";
import { loadPatient, today } from "./state.js";
import * as checkin from "./views/checkin.js";
import * as connect from "./views/connect.js";
import * as historyView from "./views/history.js";
import * as summary from "./views/summary.js";
import * as weekly from "./views/weekly.js";
import * as reminders from "./views/reminders.js";
import { renewSubscription } from "./views/reminders.js";
import * as notifications from "./views/notifications.js";
import * as mydata from "./views/mydata.js";

const SECTIONS = [
  ["today", "#/", checkin],
  ["history", "#/history", historyView],
  ["summary", "#/summary", summary],
  ["weekly", "#/weekly", weekly],
  ["reminders", "#/reminders", reminders],
  ["notifications", "#/notifications", notifications],
  ["data", "#/data", mydata],
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const statusLine = document.getElementById("sync-status");
let current = null;
let started = false;

async function boot() {
  await initTexts();
  document.title = t("app.title");
  document.getElementById("app-title").textContent = t("app.title");
  document.getElementById("skip").textContent = t("app.skip");
  nav.setAttribute("aria-label", t("nav.label"));
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js").catch(() => {});
  }
  onApi("signedOut", signedOut);
  window.addEventListener("hashchange", route);
  onStatus(showStatus);
  onChange(() => status().then(showStatus));
  onData(() => current && current.refresh && current.refresh());
  await route();
}

async function route() {
  const token = await getMeta("token");
  const hash = location.hash || "";
  if (!token) {
    nav.hidden = true;
    statusLine.textContent = "";
    const code = new URLSearchParams(hash.replace(/^#/, "")).get("code") || "";
    return show(connect, { code, notice: { "#disconnected": "connect.disconnected", "#erased": "connect.erased" }[hash], onConnected: connected });
  }
  if (hash.startsWith("#code=")) {
    // Already connected: the code is not needed (and should not linger in the address bar).
    window.history.replaceState(null, "", "./#/");
  }
  if (!started) {
    started = true;
    await loadPatient();
    startSync();
    renewSubscription();
  }
  const path = (location.hash || "#/").replace(/^#/, "");
  const [, name, arg] = path.split("/");
  const section = SECTIONS.find(([key]) => key === name) || SECTIONS[0];
  const day = section[0] === "today" && name === "day" ? arg : undefined;
  renderNav(section[0]);
  return show(section[2], { day: day || today() });
}

let shown = 0;

async function show(view, params) {
  const seq = ++shown;
  if (current && current.leave) current.leave();
  current = view;
  // Each screen draws into its own element; only the latest request replaces what is shown.
  const screen = h("div", { class: "screen" });
  await view.render(screen, params);
  if (seq !== shown) return;
  main.replaceChildren(screen);
  const heading = screen.querySelector("h2");
  // After a navigation, focus the new screen's heading: keyboard and screen reader users land there.
  if (heading && seq > 1) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

function renderNav(active) {
  nav.hidden = false;
  fill(
    nav,
    h(
      "ul",
      {},
      SECTIONS.map(([key, href]) =>
        h("li", {}, h("a", { href, "aria-current": key === active ? "page" : null }, t(`nav.${key}`))),
      ),
    ),
  );
}

function showStatus(s) {
  if (!started) return;
  const parts = [];
  if (!s.online) parts.push(t("status.offline"));
  if (s.waiting) parts.push(t("status.waiting", { count: s.waiting }));
  if (s.attention) parts.push(t("status.attention", { count: s.attention }));
  if (!parts.length) parts.push(s.syncing ? t("status.syncing") : t("status.synced"));
  const text = parts.join(" · ");
  if (statusLine.textContent !== text) statusLine.textContent = text;
  statusLine.dataset.state = !s.online ? "offline" : s.attention ? "attention" : s.waiting ? "waiting" : "synced";
}

async function connected() {
  // Leave /app/enroll#code=...: the code is used up and should not linger in the address bar.
  window.history.replaceState(null, "", "./#/");
  await route();
}

async function signedOut() {
  // The device token was revoked (at the clinic, or from another phone). Unsent changes stay on
  // the phone: connecting again with a new code for the same patient sends them.
  await setMeta("token", null);
  started = false;
  location.replace("./#disconnected");
  location.reload();
}

boot();
