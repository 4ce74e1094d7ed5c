// What the generated types must refuse: each line below is a type error, and tsc fails on an
// unused @ts-expect-error, so a loosened document (untyped items, optional everything) fails the check.
import type { components, operations } from "./generated/api.js";

type Schemas = components["schemas"];

// @ts-expect-error sync items are typed entries, not anything
export const junkEntries: Schemas["SyncIn"] = { entries: [42, "nonsense", null] };
// @ts-expect-error an entry in a batch needs its date
export const undated: Schemas["SyncEntryIn"] = { recorded_at: "2026-03-01T09:00:00+00:00", pain: 3 };
// @ts-expect-error a dose in a batch needs its id
export const anonymous: Schemas["SyncDoseIn"] = {
  medication: "naltrexone",
  amount_mg: 4.5,
  taken_at: "2026-03-01T22:00:00+00:00",
  status: "taken",
};
// @ts-expect-error a dose status is taken or skipped
export const maybe: Schemas["DoseIn"]["status"] = "maybe";
// @ts-expect-error a reminder kind is dose or diary
export const weekly: operations["putMyReminder"]["parameters"]["path"]["kind"] = "weekly";

// Answers always carry their keys: no optional chaining needed (a loosened document fails here).
export const painOf = (entry: Schemas["EntryOut"]): number | null => entry.pain;
export const storedOf = (conflict: Schemas["DoseConflictOut"]): number => conflict.errors.stored.amount_mg;
export const classOf = (report: Schemas["ReportOut"]): string =>
  report.baseline_comparison.measures.pain.classification;
// Sleep hours have no good direction, so their change is never classified.
export const sleepClass = (report: Schemas["ReportOut"]) =>
  // @ts-expect-error no classification on sleep hours
  report.baseline_comparison.measures.sleep_hours.classification;
// A reminder PUT may answer 409, and only operations with a body answer 415.
export const noRegimen = (op: operations["putMyReminder"]) => op.responses[409];
// @ts-expect-error a GET takes no body, so it documents no 415
export const noBody = (op: operations["getMyEntry"]) => op.responses[415];
