// Connect this phone: the enrollment code from the clinic's sheet (or its QR link) for a token.

import { call, ApiError, Offline } from "../api.js";
import { getMeta, setMeta, wipe } from "../db.js";
import { add, h } from "../dom.js";
import { t } from "../i18n.js";
import { loadPatient } from "../state.js";

/** A readable name for this phone, e.g. "Chrome on Android". */
export function deviceName(ua = navigator.userAgent) {
  const browser =
    (/Edg\//.test(ua) && "Edge") ||
    (/Firefox\//.test(ua) && "Firefox") ||
    (/SamsungBrowser\//.test(ua) && "Samsung Internet") ||
    ((/Chrome\//.test(ua) || /Chromium\//.test(ua)) && "Chrome") ||
    (/Safari\//.test(ua) && "Safari") ||
    "Browser";
  const system =
    (/iPhone/.test(ua) && "iPhone") ||
    (/iPad/.test(ua) && "iPad") ||
    (/Android/.test(ua) && "Android") ||
    (/Windows/.test(ua) && "Windows") ||
    (/Mac OS X/.test(ua) && "Mac") ||
    (/Linux/.test(ua) && "Linux") ||
    "";
  return (system ? t("connect.device_default", { browser, system }) : browser).slice(0, 100);
}

export async function render(main, { code, notice, onConnected }) {
  const error = h("p", { class: "error", id: "connect-error", role: "alert" });
  const codeInput = h("input", {
    id: "code", name: "code", value: code, required: true, autocomplete: "one-time-code",
    autocapitalize: "characters", spellcheck: "false", minlength: "4", maxlength: "64",
    "aria-describedby": "connect-error",
  });
  const nameInput = h("input", { id: "device", name: "device", value: deviceName(), required: true, maxlength: "100" });
  const button = h("button", { type: "submit", class: "primary" }, t("connect.button"));
  const pending = await getMeta("patient");
  const form = h(
    "form",
    { class: "card stack", novalidate: true, onsubmit: (event) => submit(event) },
    h("div", { class: "field" }, h("label", { for: "code" }, t("connect.code")), codeInput),
    h("div", { class: "field" }, h("label", { for: "device" }, t("connect.device")), nameInput,
      h("p", { class: "hint" }, t("connect.device_hint"))),
    error,
    button,
  );
  add(main, 
    h("h2", {}, t("connect.title")),
    notice ? h("p", { class: "notice", role: "status" }, t(notice)) : null,
    h("p", {}, t("connect.intro")),
    form,
  );
  if (!code) codeInput.focus();

  async function submit(event) {
    event.preventDefault();
    error.textContent = "";
    const value = codeInput.value.trim();
    if (value.length < 4) {
      error.textContent = t("connect.code_missing");
      codeInput.setAttribute("aria-invalid", "true");
      codeInput.focus();
      return;
    }
    button.disabled = true;
    try {
      const answer = await call("POST", "/enroll", { code: value, device_name: nameInput.value.trim() || deviceName() }, { token: null });
      // Another patient's diary must never mix with this one; the same patient keeps unsent changes.
      if (pending && pending.id !== answer.patient_id) await wipe();
      const me = await call("GET", "/me", undefined, { token: answer.token });
      await setMeta("patient", { id: answer.patient_id, timezone: answer.timezone, display_name: me.display_name });
      await setMeta("token", answer.token);
      await loadPatient();
      onConnected();
    } catch (err) {
      button.disabled = false;
      codeInput.setAttribute("aria-invalid", "true");
      if (err instanceof Offline) error.textContent = t("connect.offline");
      else if (err instanceof ApiError && err.status === 429) error.textContent = t("connect.too_many");
      else if (err instanceof ApiError && err.status === 404) error.textContent = t("connect.bad_code");
      else error.textContent = t("error.generic");
    }
  }
}
