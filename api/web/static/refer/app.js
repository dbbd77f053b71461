// The referral app: answers kept on the device, encrypted with the session's key, and sent
// when there is signal, each with the Idempotency-Key made here when it was kept.
const root = document.getElementById("refer-app");
const form = document.getElementById("referral");
const sessionForm = document.getElementById("outreach");
const queueBox = document.getElementById("queue");
const signal = document.getElementById("signal");
const csrf = root.dataset.csrf;
let key = null;
let signedOut = false; // the server answered, but not with this session's key
let sending = false;
let fixing = null; // the kept referral being put right
let fixingSession = null; // the kept session being put right
// A queue that could not be sent drains itself: tried again after 2 s, then less often.
let retry = null;
let retryDelay = 2000;

function db() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("refer-app", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("queue", { keyPath: "id" });
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function store(mode, act) {
  const handle = await db();
  return new Promise((resolve, reject) => {
    const tx = handle.transaction("queue", mode);
    const result = act(tx.objectStore("queue"));
    tx.oncomplete = () => resolve(result.result);
    tx.onerror = () => reject(tx.error);
  });
}

const all = () => store("readonly", (s) => s.getAll());
const put = (item) => store("readwrite", (s) => s.put(item));
const remove = (id) => store("readwrite", (s) => s.delete(id));

async function unlock() {
  // The key lives in memory only: a closed app, or a revoked session, leaves nothing readable.
  try {
    const answer = await fetch("/refer/app/key", { credentials: "same-origin", cache: "no-store" });
    signedOut = !answer.ok || !(answer.headers.get("content-type") || "").includes("json");
    if (signedOut) return false;
    const raw = Uint8Array.from(atob((await answer.json()).key), (c) => c.charCodeAt(0));
    key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    return true;
  } catch {
    return false;
  }
}

async function seal(answers) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = new TextEncoder().encode(JSON.stringify(answers));
  return { iv, sealed: new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, data)) };
}

async function open(item) {
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: item.iv }, key, item.sealed);
  return JSON.parse(new TextDecoder().decode(plain));
}

function answersOf() {
  const data = new FormData(form);
  return {
    name: data.get("name") || "",
    date_of_birth: data.get("date_of_birth") || "",
    address: data.get("address") || "",
    postcode: data.get("postcode") || "",
    phone: data.get("phone") || "",
    email: data.get("email") || "",
    needs: data.getAll("needs"),
    urgency: data.get("urgency") || "",
    notes: data.get("notes") || "",
    agreed: data.getAll("agreed"),
    method: data.get("method") || "",
    recorded_by: data.get("recorded_by") || "",
    told: data.get("told") || "",
    given_at: new Date().toISOString(),
  };
}

function sessionOf() {
  const data = new FormData(sessionForm);
  const figures = Object.fromEntries([...data.entries()].map(([name, value]) => [name, String(value).trim()]));
  // A whole number is sent as a number; anything else as typed, for the server to refuse.
  for (const name of ["doors_knocked", "conversations", "residents_helped", "referrals_made"]) {
    if (/^\d+$/.test(figures[name] || "")) figures[name] = Number(figures[name]);
  }
  return figures;
}

function fill(answers, into = form) {
  for (const el of into.elements) {
    if (!el.name) continue;
    const value = answers[el.name];
    if (el.type === "checkbox") el.checked = Array.isArray(value) && value.includes(el.value);
    else if (el.type === "radio") el.checked = value === el.value;
    else if (value !== undefined) el.value = value;
  }
}

function words(item) {
  if (item.state === "unreadable") {
    return "Cannot be read: it was kept under a sign-in that has ended, so it stays locked. Make it again from your notes";
  }
  if (item.kind === "outreach") {
    if (item.state === "sent") return `Session logged${item.counted ? `: counted by ${item.counted} partnership${item.counted === 1 ? "" : "s"}` : ""}`;
    if (item.state === "refused") return "Session not logged: put these right, then send it again";
    return "Waiting for signal";
  }
  if (item.state === "sent") return `Sent: number ${item.number}`;
  if (item.state === "refused") return "Not sent: put these right, then send it again";
  return "Waiting for signal";
}

async function show() {
  const items = (await all()).sort((a, b) => a.kept_at.localeCompare(b.kept_at));
  if (navigator.onLine && !key && signedOut) {
    signal.innerHTML = 'You are signed out: <a class="govuk-link" href="/login?next=/refer/app">sign in again</a> to send what is kept here.';
  } else {
    signal.textContent = navigator.onLine
      ? (key ? "You have signal: referrals are sent as you keep them." : "Connecting…")
      : "No signal: referrals are kept on this device, encrypted, and sent when there is signal.";
  }
  form.hidden = key === null;
  sessionForm.hidden = key === null;
  if (!items.length) {
    queueBox.innerHTML = '<p class="govuk-body">None yet.</p>';
    return;
  }
  const list = document.createElement("ul");
  list.className = "govuk-list";
  const counts = { referral: 0, outreach: 0 };
  items.forEach((item) => {
    const kind = item.kind === "outreach" ? "outreach" : "referral";
    const i = counts[kind]++;
    const title = kind === "outreach" ? "Session" : "Referral";
    const li = document.createElement("li");
    li.className = "refer-queue__item";
    li.dataset.state = item.state;
    const head = document.createElement("p");
    head.className = "govuk-body";
    head.innerHTML = `<strong>${title} ${i + 1}</strong> (kept ${new Date(item.kept_at).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" })}): `;
    head.append(document.createTextNode(words(item)));
    if (item.state === "sent" && item.number) {
      // Online, the referral's progress is on its own page; offline that page is not kept.
      const follow = document.createElement("a");
      follow.className = "govuk-link govuk-!-margin-left-1";
      follow.href = `/refer/mine/${encodeURIComponent(item.number)}`;
      follow.textContent = `how ${item.number} is going`;
      head.append(" (", follow, ")");
    }
    li.append(head);
    if (item.state === "refused") {
      const problems = document.createElement("ul");
      problems.className = "govuk-list govuk-list--bullet govuk-error-message";
      for (const problem of item.problems) {
        const p = document.createElement("li");
        p.textContent = problem.message;
        problems.append(p);
      }
      li.append(problems);
      if (key) {
        const fix = document.createElement("button");
        fix.type = "button";
        fix.className = "govuk-button govuk-button--secondary";
        fix.textContent = `Put ${title.toLowerCase()} ${i + 1} right`;
        fix.addEventListener("click", async () => {
          const into = kind === "outreach" ? sessionForm : form;
          if (kind === "outreach") fixingSession = item.id;
          else fixing = item.id;
          fill(await open(item), into);
          into.querySelector("input").focus();
        });
        li.append(fix);
      }
    }
    if (item.state === "unreadable") {
      const drop = document.createElement("button");
      drop.type = "button";
      drop.className = "govuk-button govuk-button--warning";
      drop.textContent = `Remove ${title.toLowerCase()} ${i + 1}`;
      drop.addEventListener("click", async () => {
        await remove(item.id);
        await show();
      });
      li.append(drop);
    }
    list.append(li);
  });
  queueBox.replaceChildren(list);
}

async function sendAll() {
  if (sending || !navigator.onLine) return;
  sending = true;
  try {
    if (!key && !(await unlock())) return;
    for (const item of await all()) {
      if (item.state !== "waiting") continue;
      let answers;
      try {
        answers = await open(item);
      } catch {
        // Kept under a session that has ended: its key is gone, as it should be.
        await put({ id: item.id, kind: item.kind, state: "unreadable", kept_at: item.kept_at });
        continue;
      }
      let answer;
      try {
        answer = await fetch(item.kind === "outreach" ? "/refer/app/outreach" : "/refer/app/send", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Idempotency-Key": item.id, "X-CSRF-Token": csrf },
          body: JSON.stringify(answers),
        });
      } catch {
        break; // no signal after all: it stays waiting
      }
      const type = answer.headers.get("content-type") || "";
      if (!type.includes("json")) {
        // Signed out: the key is forgotten; after signing in again it stays waiting.
        signedOut = true;
        key = null;
        break;
      }
      const body = await answer.json();
      if (answer.status === 201 && item.kind === "outreach") {
        await put({ id: item.id, kind: "outreach", state: "sent", counted: body.counted_by.length, kept_at: item.kept_at });
      } else if (answer.status === 201) {
        // Sent: the answers leave the device, the number stays.
        await put({ id: item.id, state: "sent", number: body.number, kept_at: item.kept_at });
      } else if (answer.status === 409 && JSON.stringify(body).includes("still being made")) {
        break; // an earlier copy is being made right now: send again later for its number
      } else if (answer.status === 422 || answer.status === 409) {
        await put({ ...item, state: "refused", problems: body.problems });
      } else {
        break; // the service is busy: try again later
      }
    }
  } finally {
    sending = false;
    await show();
    await sendLater();
  }
}

async function sendLater() {
  const waiting = (await all()).some((item) => item.state === "waiting");
  if (!waiting || !navigator.onLine) {
    retryDelay = 2000;
    return;
  }
  if (retry) return;
  retry = setTimeout(() => {
    retry = null;
    sendAll();
  }, retryDelay);
  retryDelay = Math.min(retryDelay * 2, 30000);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!key) return;
  // Take the answers and clear the form before anything waits, so the next resident's
  // answers, typed at once, are never cleared with this one's.
  const id = fixing || crypto.randomUUID();
  const answers = answersOf();
  fixing = null;
  const recorder = form.elements.recorded_by.value;
  form.reset();
  form.elements.recorded_by.value = recorder;
  const { iv, sealed } = await seal(answers);
  await put({ id, state: "waiting", iv, sealed, kept_at: new Date().toISOString() });
  await show();
  await sendAll();
});

sessionForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!key) return;
  const id = fixingSession || crypto.randomUUID();
  const figures = sessionOf();
  fixingSession = null;
  sessionForm.reset();
  const { iv, sealed } = await seal(figures);
  await put({ id, kind: "outreach", state: "waiting", iv, sealed, kept_at: new Date().toISOString() });
  await show();
  await sendAll();
});

window.addEventListener("online", () => sendAll());
window.addEventListener("offline", () => show());

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/refer/sw.js", { scope: "/refer/" });
}
await show();
if (navigator.onLine) await unlock();
await show();
await sendAll();
