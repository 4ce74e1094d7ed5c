// Sync: send the outbox with /me/sync in batches, then bring in what other devices wrote with
// /me/changes. Runs on open, when the network returns, after each save and every minute while
// open, with backoff after failures. Resends are harmless: the API is idempotent.

import { call, on as onApi, Offline, ApiError } from "./api.js";
import { tx, getAll, getMeta, setMeta } from "./db.js";
import { onChange } from "./outbox.js";

const BATCH_ITEMS = 250; // the server takes up to 500 per batch
const BATCH_BYTES = 400_000; // and 1 MiB per request
const PERIOD_MS = 60_000;
const BACKOFF_MS = [2_000, 5_000, 15_000, 30_000, 60_000, 120_000, 300_000];
const LIST = { entry: { put: "entries", delete: "deleted_entries" }, dose: { put: "doses", delete: "deleted_doses" } };

let online = navigator.onLine;
let failures = 0;
let timer = null;
let running = null;
let rerun = false;
const listeners = [];
const dataListeners = [];

export const onStatus = (fn) => listeners.push(fn);
/** Called after the phone's copy changed under the views (results, other devices' changes). */
export const onData = (fn) => dataListeners.push(fn);
const dataChanged = () => dataListeners.forEach((fn) => fn());

/** {online, waiting, attention, syncing}: what the status line says. */
export async function status() {
  const items = await getAll("outbox");
  return {
    online,
    waiting: items.filter((i) => i.state === "pending").length,
    attention: items.filter((i) => i.state !== "pending").length,
    syncing: running !== null,
  };
}

async function report() {
  const s = await status();
  listeners.forEach((fn) => fn(s));
}

/** Start syncing now and keep syncing while the app is open. */
export function start() {
  onApi("online", (up) => {
    if (up !== online) {
      online = up;
      report();
    }
  });
  window.addEventListener("online", () => {
    online = true;
    failures = 0;
    syncSoon(0);
  });
  window.addEventListener("offline", () => {
    online = false;
    report();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") syncSoon(0);
  });
  onChange(() => {
    report();
    syncSoon(300);
  });
  syncSoon(0);
}

/** Schedule a sync `ms` from now (sooner wins). */
export function syncSoon(ms) {
  clearTimeout(timer);
  timer = setTimeout(() => syncNow().catch(() => {}), ms);
}

/** One full sync (push, then pull); a call during a run asks for another run after it. */
export function syncNow() {
  if (running) {
    rerun = true;
  } else {
    running = (async () => {
      await report();
      try {
        await withLock(async () => {
          await push();
          await pull();
        });
        failures = 0;
        online = true;
        syncSoon(rerun ? 0 : PERIOD_MS);
      } catch (err) {
        failures += 1;
        syncSoon(BACKOFF_MS[Math.min(failures, BACKOFF_MS.length) - 1]);
        if (!(err instanceof Offline) && !(err instanceof ApiError)) throw err;
      } finally {
        rerun = false;
        running = null;
        await report();
      }
    })();
  }
  return running;
}

function withLock(fn) {
  // Two tabs of the app would send the same items twice (harmless) and race on the cursor.
  return navigator.locks ? navigator.locks.request("diary-sync", fn) : fn();
}

/** Split outbox items into batches the server accepts. */
export function batches(items) {
  const out = [];
  let current = [];
  let bytes = 0;
  for (const item of items) {
    const size = JSON.stringify(item.body).length + 8;
    if (current.length && (current.length >= BATCH_ITEMS || bytes + size > BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}

async function push() {
  const pending = (await getAll("outbox")).filter((i) => i.state === "pending");
  for (const batch of batches(pending)) {
    const body = { entries: [], doses: [], deleted_entries: [], deleted_doses: [] };
    const sent = { entries: [], doses: [], deleted_entries: [], deleted_doses: [] };
    for (const item of batch) {
      const list = LIST[item.kind][item.op];
      body[list].push(item.body);
      sent[list].push(item);
    }
    const results = await call("POST", "/me/sync", body);
    const stale = [];
    await tx(["outbox", "entries", "doses"], "readwrite", async (s) => {
      for (const list of Object.keys(sent)) {
        for (const [i, item] of sent[list].entries()) {
          const result = results[list][i];
          const current = await s.outbox.get(item.key);
          // Edited again while this batch was in flight: the newer version goes next time.
          if (!current || current.body.recorded_at !== item.body.recorded_at) continue;
          if (result.status === "stale") {
            stale.push(current);
          } else if (result.status === "rejected") {
            await s.outbox.put({ ...current, state: "rejected", errors: result.errors || {} });
          } else {
            await s.outbox.delete(item.key);
            if (item.op === "put") {
              const store = item.kind === "entry" ? s.entries : s.doses;
              const shown = await store.get(item.id);
              if (shown) await store.put({ ...shown, local: false });
            }
          }
        }
      }
    });
    // A newer version is stored: fetch it so both can be shown side by side.
    for (const item of stale) await markStale(item);
    dataChanged();
    await report();
  }
}

async function markStale(item) {
  const path = item.kind === "entry" ? `/me/entries/${item.id}` : `/me/doses/${item.id}`;
  let stored = null;
  try {
    stored = await call("GET", path);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  await tx(["outbox"], "readwrite", async (s) => {
    const current = await s.outbox.get(item.key);
    if (current && current.body.recorded_at === item.body.recorded_at) {
      await s.outbox.put({ ...current, state: "stale", stored });
    }
  });
}

async function pull() {
  const since = await getMeta("cursor");
  const feed = await call("GET", since ? `/me/changes?since=${since}` : "/me/changes");
  await applyChanges(feed);
  // The regimen changes rarely; refresh it with every sync while online.
  await refreshRegimen();
  dataChanged();
}

/** Bring a /me/changes answer into the phone's copy; the phone's unsent versions stay shown. */
export async function applyChanges(feed) {
  await tx(["outbox", "entries", "doses", "meta"], "readwrite", async (s) => {
    const merge = async (store, key, record, kind) => {
      const queued = await s.outbox.get(`${kind}:${key}`);
      if (!queued) {
        if (record) await store.put({ ...record, local: false });
        else await store.delete(key);
      } else if (queued.state === "stale") {
        await s.outbox.put({ ...queued, stored: record });
      }
    };
    for (const e of feed.entries) await merge(s.entries, e.date, e, "entry");
    for (const d of feed.doses) await merge(s.doses, d.id, d, "dose");
    for (const date of feed.deleted_entries) await merge(s.entries, date, null, "entry");
    for (const id of feed.deleted_doses) await merge(s.doses, id, null, "dose");
    await s.meta.put(feed.cursor, "cursor");
  });
}

export async function refreshRegimen() {
  try {
    await setMeta("regimen", await call("GET", "/me/regimen"));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) await setMeta("regimen", null);
    else throw err;
  }
}
