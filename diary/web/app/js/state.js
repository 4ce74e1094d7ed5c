// What every screen needs to know about the patient, read once from the phone's copy.

import { getMeta } from "./db.js";
import { dateIn } from "./days.js";

let patient = null;

export async function loadPatient() {
  patient = (await getMeta("patient")) || null;
  return patient;
}

export const currentPatient = () => patient;

/** Today in the patient's zone (the diary's days are theirs, not UTC's). */
export function today() {
  return dateIn((patient && patient.timezone) || Intl.DateTimeFormat().resolvedOptions().timeZone);
}

/** The planned dose (mg) on `day` under `regimen`: the latest step starting on or before it. */
export function plannedDose(regimen, day) {
  let dose = null;
  for (const step of (regimen && regimen.steps) || []) {
    if (step.start_date <= day) dose = step.dose_mg;
  }
  return dose;
}
