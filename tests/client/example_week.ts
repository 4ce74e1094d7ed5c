// A week of the diary through types generated from the OpenAPI document (openapi-typescript)
// and openapi-fetch, the same steps as example_week.py: a clinician creates a patient and sets
// a regimen, the phone logs a week, syncs an offline batch with a conflict, a second device
// catches up through /me/changes, and the clinician reads the report's baseline_comparison.
//
//   node generated/ts-out/example_week.js BASE_URL CLINICIAN_EMAIL   (the password on stdin)
//
// tsc --strict checks it (tests/client/test_generated_clients.py generates the types,
// compiles and runs it). Prints one JSON line; exits non-zero on the first unexpected answer.

import { randomUUID } from "node:crypto";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/api.js";

type Schemas = components["schemas"];

const ZONE = "Europe/London";

function check(condition: boolean, what: string): asserts condition {
  if (!condition) {
    throw new Error(`check failed: ${what}`);
  }
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) {
    throw new Error(`${what}: no data`);
  }
  return value;
}

function isConflict(
  error: Schemas["ErrorOut"] | Schemas["EntryConflictOut"],
): error is Schemas["EntryConflictOut"] {
  return error.code === 409;
}

function localDay(offsetDays: number): string {
  // The patient's local date, offsetDays from today (en-CA formats as YYYY-MM-DD).
  const instant = new Date(Date.now() + offsetDays * 86_400_000);
  return instant.toLocaleDateString("en-CA", { timeZone: ZONE });
}

function bedtime(day: string): string {
  // 22:00 on the day in London: UTC+0 in winter, UTC+1 in summer; the server needs only an offset.
  const probe = new Date(`${day}T12:00:00Z`);
  const hour = Number(probe.toLocaleString("en-GB", { timeZone: ZONE, hour: "2-digit", hour12: false }));
  const offset = hour - 12;
  return `${day}T22:00:00+0${offset}:00`;
}

async function readPassword(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) {
    text += String(chunk);
  }
  return text.split("\n")[0] ?? "";
}

async function main(baseUrl: string, email: string, password: string): Promise<Record<string, unknown>> {
  const api = createClient<paths>({ baseUrl });
  const login = await api.POST("/api/v1/auth/login", { body: { email, password } });
  const session: Schemas["LoginOut"] = need(login.data, "login");
  const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
  const clinic = bearer(session.token);

  const created = need(
    (await api.POST("/api/v1/patients", { ...clinic, body: { display_name: "Week Example TS", timezone: ZONE } }))
      .data,
    "create patient",
  );
  const patched: Schemas["PatientOut"] = need(
    (
      await api.PATCH("/api/v1/patients/{patient_id}", {
        ...clinic,
        params: { path: { patient_id: created.id } },
        body: { external_ref: "MRN-1" },
      })
    ).data,
    "patch patient",
  );
  check(patched.external_ref === "MRN-1" && patched.display_name === "Week Example TS", "profile patched");
  const today = localDay(0);
  const week = [7, 6, 5, 4, 3, 2, 1].map((n) => localDay(-n));
  const [first, , , , fifth, , last] = week;
  check(first !== undefined && fifth !== undefined && last !== undefined, "a week of days");
  const steps: Schemas["Step"][] = [
    { start_date: first, dose_mg: 1.5 },
    { start_date: fifth, dose_mg: 3.0 },
  ];
  const regimen = need(
    (
      await api.PUT("/api/v1/patients/{patient_id}/regimen", {
        ...clinic,
        params: { path: { patient_id: created.id } },
        body: { medication: "naltrexone", dose_time: "22:00", steps },
      })
    ).data,
    "put regimen",
  );
  check(regimen.steps.map((s) => s.dose_mg).join() === "1.5,3", "steps come back in mg, normalised");

  const phoneToken = need(
    (await api.POST("/api/v1/enroll", { body: { code: created.enrollment_code, device_name: "phone" } })).data,
    "enroll phone",
  );
  const phone = bearer(phoneToken.token);

  const recorded = new Date(Date.now() - 3_600_000).toISOString();
  let lastPain = -1;
  for (const [n, day] of week.entries()) {
    const pain = 7 - Math.floor(n / 2);
    const put = await api.PUT("/api/v1/me/entries/{day}", {
      ...phone,
      params: { path: { day } },
      body: { recorded_at: recorded, pain, mood: 4 + Math.floor(n / 2), sleep_hours: 6.5 },
    });
    check(put.response.status === 201, `entry ${day} created`);
    const entry: Schemas["EntryOut"] = need(put.data, `entry ${day}`);
    check(entry.date === day && entry.pain === pain, `entry ${day} as sent`);
    lastPain = pain;
    const dose = need(
      (
        await api.PUT("/api/v1/me/doses/{dose_id}", {
          ...phone,
          params: { path: { dose_id: randomUUID() } },
          body: {
            medication: "naltrexone",
            amount_mg: day < fifth ? 1.5 : 3.0,
            taken_at: bedtime(day),
            status: "taken",
          },
        })
      ).data,
      `dose ${day}`,
    );
    check(dose.local_date === day, `dose ${day} on its diary day`);
  }

  // An older edit loses: 409, and the body types the version that was kept.
  const stale = await api.PUT("/api/v1/me/entries/{day}", {
    ...phone,
    params: { path: { day: last } },
    body: { recorded_at: new Date(Date.now() - 6 * 3_600_000).toISOString(), pain: 10 },
  });
  const conflict = stale.error;
  check(conflict !== undefined && isConflict(conflict), "stale PUT is a conflict");
  check(conflict.errors.stored.pain === lastPain, "the 409 carries the kept version");

  const offline: Schemas["SyncIn"] = {
    entries: [
      { date: today, recorded_at: new Date().toISOString(), pain: 3, mood: 7 },
      { date: last, recorded_at: new Date(Date.now() - 2 * 3_600_000).toISOString(), pain: 9 },
    ],
    doses: [
      {
        id: randomUUID(),
        medication: "naltrexone",
        amount_mg: 3,
        taken_at: bedtime(today).replace("T22:", "T08:"),
        status: "skipped",
      },
    ],
    deleted_entries: [{ date: first, recorded_at: new Date().toISOString() }],
  };
  const batch = need((await api.POST("/api/v1/me/sync", { ...phone, body: offline })).data, "sync");
  const statuses = [...batch.entries, ...batch.deleted_entries, ...batch.doses].map((r) => r.status);
  check(statuses.join() === "created,stale,deleted,created", `one result per item: ${statuses.join()}`);

  const code = need(
    (
      await api.POST("/api/v1/patients/{patient_id}/enrollment-code", {
        ...clinic,
        params: { path: { patient_id: created.id } },
      })
    ).data,
    "new code",
  );
  const tabletToken = need(
    (await api.POST("/api/v1/enroll", { body: { code: code.enrollment_code, device_name: "tablet" } })).data,
    "enroll tablet",
  );
  const tablet = bearer(tabletToken.token);
  const restored = need((await api.GET("/api/v1/me/changes", tablet)).data, "changes");
  check(restored.entries.length === 7 && restored.doses.length === 8, "the tablet gets every live record");
  check(!restored.entries.some((e) => e.date === first), "the deleted day stays deleted");
  const again = need(
    (await api.GET("/api/v1/me/changes", { ...tablet, params: { query: { since: restored.cursor } } })).data,
    "changes since",
  );
  check(again.entries.length === 0 && again.doses.length === 0, "nothing new after the cursor");

  const report: Schemas["ReportOut"] = need(
    (
      await api.GET("/api/v1/patients/{patient_id}/report", {
        ...clinic,
        params: { path: { patient_id: created.id }, query: { from: first, to: today } },
      })
    ).data,
    "report",
  );
  const comparison = report.baseline_comparison;
  const pain = comparison.measures.pain;
  check(report.period.days === 8, "the period asked for");
  check(report.doses.adherence.taken_days === 7, "seven doses taken");
  return {
    patient_id: created.id,
    baseline: [comparison.baseline.from, comparison.baseline.to, comparison.baseline.source],
    pain_baseline_mean: pain.baseline_mean,
    pain_current_mean: pain.current_mean,
    pain_classification: pain.classification,
    taken_days: report.doses.adherence.taken_days,
    flags: report.flags.map((flag) => flag.code),
  };
}

const [baseUrl, email] = process.argv.slice(2);
if (baseUrl === undefined || email === undefined) {
  throw new Error("usage: node example_week.js BASE_URL CLINICIAN_EMAIL (password on stdin)");
}
console.log(JSON.stringify(await main(baseUrl, email, await readPassword())));
