// My data: download everything, erase everything (typed confirmation), sign out of this phone.

import { call, ApiError, Offline } from "../api.js";
import { count, wipe } from "../db.js";
import { add, h } from "../dom.js";
import { t } from "../i18n.js";
import { syncNow } from "../sync.js";

const CONFIRM = "DELETE";

export async function render(main) {
  add(main, h("h2", {}, t("data.title")), download(), signOut(), erase());
}

function failure(err) {
  return err instanceof Offline ? t("data.offline") : (err instanceof ApiError && err.body.message) || t("error.generic");
}

function download() {
  const result = h("p", { role: "status" });
  const button = h("button", { type: "button", onclick: async () => {
    result.textContent = "";
    try {
      const data = await call("GET", "/me/export");
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
      const link = h("a", { href: URL.createObjectURL(blob), download: `symptom-diary-${new Date().toISOString().slice(0, 10)}.json` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      result.textContent = t("data.downloaded");
    } catch (err) {
      result.textContent = failure(err);
    }
  } }, t("data.download"));
  return h("section", { class: "card stack" }, h("h3", {}, t("data.download_title")), h("p", {}, t("data.download_intro")), button, result);
}

function signOut() {
  const result = h("p", { role: "status" });
  const confirm = h("button", { type: "button", class: "danger", hidden: true }, t("data.sign_out_anyway"));
  const go = async () => {
    try {
      await call("POST", "/auth/logout");
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) {
        result.textContent = failure(err);
        return;
      }
    }
    await wipe();
    location.replace("./");
  };
  confirm.addEventListener("click", go);
  const button = h("button", { type: "button", onclick: async () => {
    result.textContent = t("data.syncing_first");
    await syncNow().catch(() => {});
    const waiting = await count("outbox");
    if (waiting) {
      result.textContent = t("data.unsynced", { count: waiting });
      confirm.hidden = false;
      confirm.focus();
      return;
    }
    await go();
  } }, t("data.sign_out"));
  return h("section", { class: "card stack" }, h("h3", {}, t("data.sign_out_title")), h("p", {}, t("data.sign_out_intro")), button, confirm, result);
}

function erase() {
  const input = h("input", { id: "erase-confirm", autocomplete: "off", spellcheck: "false", "aria-describedby": "erase-help" });
  const result = h("p", { role: "status" });
  const form = h(
    "form",
    { class: "card stack danger-zone", "aria-labelledby": "erase-title" },
    h("h3", { id: "erase-title" }, t("data.erase_title")),
    h("p", { id: "erase-help" }, t("data.erase_intro", { word: CONFIRM })),
    h("div", { class: "field" }, h("label", { for: "erase-confirm" }, t("data.erase_label", { word: CONFIRM })), input),
    h("button", { type: "submit", class: "danger" }, t("data.erase")),
    result,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (input.value.trim() !== CONFIRM) {
      input.setAttribute("aria-invalid", "true");
      result.textContent = t("data.erase_mismatch", { word: CONFIRM });
      input.focus();
      return;
    }
    try {
      await call("DELETE", "/me", { confirm: CONFIRM });
    } catch (err) {
      result.textContent = failure(err);
      return;
    }
    await wipe();
    location.replace("./#erased");
    location.reload();
  });
  return form;
}
