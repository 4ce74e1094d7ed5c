// The phone's copy of the diary, in IndexedDB. Nothing here talks to the network.
//   meta     key -> value: token, patient, cursor, regimen, reminders, ...
//   entries  diary days as shown on this phone (the server's version or the phone's newer one)
//   doses    doses as shown on this phone
//   outbox   changes not yet accepted by the server, one per record (the newest wins)

const NAME = "symptom-diary";
const VERSION = 1;
let opened = null;

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export function open() {
  if (!opened) {
    const request = indexedDB.open(NAME, VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore("meta");
      db.createObjectStore("entries", { keyPath: "date" });
      db.createObjectStore("doses", { keyPath: "id" });
      db.createObjectStore("outbox", { keyPath: "key" });
    };
    opened = promised(request).then((db) => {
      // Another tab upgrading or erasing: let it, and reopen on next use.
      db.onversionchange = () => {
        db.close();
        opened = null;
      };
      return db;
    });
  }
  return opened;
}

/**
 * Run `work(stores)` in one transaction over `names`; resolves with work's result once the
 * transaction has committed (so a reload right after sees it all or nothing).
 */
export async function tx(names, mode, work) {
  const db = await open();
  const transaction = db.transaction(names, mode, { durability: "strict" });
  const stores = Object.fromEntries(names.map((n) => [n, wrap(transaction.objectStore(n))]));
  const done = new Promise((resolve, reject) => {
    transaction.oncomplete = resolve;
    transaction.onabort = () => reject(transaction.error || new Error("transaction aborted"));
    transaction.onerror = () => reject(transaction.error);
  });
  const result = await work(stores);
  await done;
  return result;
}

function wrap(store) {
  return {
    get: (key) => promised(store.get(key)),
    getAll: () => promised(store.getAll()),
    put: (value, key) => promised(key === undefined ? store.put(value) : store.put(value, key)),
    delete: (key) => promised(store.delete(key)),
    clear: () => promised(store.clear()),
    count: () => promised(store.count()),
  };
}

export const get = (store, key) => tx([store], "readonly", (s) => s[store].get(key));
export const getAll = (store) => tx([store], "readonly", (s) => s[store].getAll());
export const count = (store) => tx([store], "readonly", (s) => s[store].count());
export const setMeta = (key, value) => tx(["meta"], "readwrite", (s) => s.meta.put(value, key));
export const getMeta = (key) => get("meta", key);

/** Forget everything on this phone (sign out, erase). */
export function wipe() {
  return tx(["meta", "entries", "doses", "outbox"], "readwrite", async (s) => {
    await Promise.all(Object.values(s).map((store) => store.clear()));
  });
}
