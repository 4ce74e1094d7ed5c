// Every save lands on the phone first: the record as shown, and an outbox item that the sync
// sends later. Both are written in one IndexedDB transaction, so a closed tab keeps both or
// neither. An outbox item is removed only once the server has answered for that very version.

import { tx } from "./db.js";
import { ownLocal, recordedAfter } from "./days.js";

const STORES = ["entries", "doses", "outbox"];
const listeners = [];
export const onChange = (fn) => listeners.push(fn);
export const changed = () => listeners.forEach((fn) => fn());

export const entryKey = (date) => `entry:${date}`;
export const doseKey = (id) => `dose:${id}`;

/** A fresh UUID for a dose (the server keys doses by the phone's id). */
export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Save a diary day (`fields` without date); an empty day becomes a deletion. */
export async function saveEntry(date, fields, recordedAt = recordedAfter()) {
  const body = { ...fields, recorded_at: recordedAt };
  await tx(STORES, "readwrite", async (s) => {
    if (isEmpty(fields)) {
      await s.entries.delete(date);
      await s.outbox.put({ key: entryKey(date), kind: "entry", op: "delete", id: date, body: { date, recorded_at: recordedAt }, state: "pending" });
    } else {
      await s.entries.put({ date, ...body, local: true });
      await s.outbox.put({ key: entryKey(date), kind: "entry", op: "put", id: date, body: { date, ...body }, state: "pending" });
    }
  });
  changed();
}

/** Save many days at once (one transaction): the bench and imports. */
export async function saveEntries(list) {
  await tx(STORES, "readwrite", async (s) => {
    for (const { date, fields } of list) {
      const body = { ...fields, recorded_at: fields.recorded_at || recordedAfter() };
      await s.entries.put({ date, ...body, local: true });
      await s.outbox.put({ key: entryKey(date), kind: "entry", op: "put", id: date, body: { date, ...body }, state: "pending" });
    }
  });
  changed();
}

/** Log or correct a dose: {id?, medication, amount_mg, taken_at, status, note?}. */
export async function saveDose(dose, recordedAt = recordedAfter()) {
  const id = dose.id || newId();
  const body = { ...dose, id, recorded_at: recordedAt };
  await tx(STORES, "readwrite", async (s) => {
    await s.doses.put({ ...body, local_date: ownLocal(body.taken_at).day, local: true });
    await s.outbox.put({ key: doseKey(id), kind: "dose", op: "put", id, body, state: "pending" });
  });
  changed();
  return id;
}

/** Remove a dose logged by mistake. */
export async function deleteDose(id, recordedAt = recordedAfter()) {
  await tx(STORES, "readwrite", async (s) => {
    await s.doses.delete(id);
    await s.outbox.put({ key: doseKey(id), kind: "dose", op: "delete", id, body: { id, recorded_at: recordedAt }, state: "pending" });
  });
  changed();
}

/** A stale change: keep the server's version (drop the phone's). */
export async function keepStored(key) {
  await tx(STORES, "readwrite", async (s) => {
    const item = await s.outbox.get(key);
    if (!item) return;
    await s.outbox.delete(key);
    const store = item.kind === "entry" ? s.entries : s.doses;
    if (item.stored) await store.put(item.stored);
    else await store.delete(item.id);
  });
  changed();
}

/** A stale change: apply the phone's version again, newer than the stored one. */
export async function applyMine(key) {
  await tx(STORES, "readwrite", async (s) => {
    const item = await s.outbox.get(key);
    if (!item) return;
    const recordedAt = recordedAfter(item.stored && item.stored.recorded_at);
    item.body = { ...item.body, recorded_at: recordedAt };
    item.state = "pending";
    delete item.stored;
    delete item.errors;
    await s.outbox.put(item);
    if (item.op === "put") {
      const store = item.kind === "entry" ? s.entries : s.doses;
      const shown = { ...item.body, local: true };
      if (item.kind === "dose") shown.local_date = ownLocal(item.body.taken_at).day;
      await store.put(shown);
    }
  });
  changed();
}

function isEmpty(fields) {
  const measures = ["pain", "pain_worst", "fatigue", "mood", "sleep_quality", "function", "sleep_hours"];
  return (
    measures.every((m) => fields[m] === null || fields[m] === undefined) &&
    !(fields.side_effects || []).length &&
    !(fields.notes || "").trim()
  );
}
