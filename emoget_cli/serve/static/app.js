// emoget serve: the four steps in the browser. Plain JS, no libraries, nothing from the internet.
"use strict";

const $ = (id) => document.getElementById(id);
const LABELS = {
  happiness: "Happy", surprise: "Surprised", disgust: "Disgusted", sadness: "Sad", anger: "Angry",
  fear: "Scared",
};
const THUMB = { size: 128, frames: 12 };  // the moving thumbnails of step 3
const FORMATS_OFFERED = ["gif", "webp", "apng", "webm"];
const SUFFIX = { gif: ".gif", webp: ".webp", apng: ".png", webm: ".webm", mp4: ".mp4" };

const state = {
  token: null, options: null, photo: null, photoUrl: null, style: null, expr: null,
  jobs: new Set(), made: new Map(), main: null, epoch: 0,
};

// ------------------------------------------------------------------------------ API --

function readToken() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    state.token = decodeURIComponent(m[1]);
    sessionStorage.setItem("emoget_token", state.token);
    history.replaceState(null, "", location.pathname);  // keep it out of the address bar
  } else {
    state.token = sessionStorage.getItem("emoget_token");
  }
  if (state.token) {  // lets <img> and downloads through without a header
    document.cookie = `emoget_token=${encodeURIComponent(state.token)}; path=/; SameSite=Strict`;
  }
}

class ApiError extends Error {
  constructor(kind, message, status) { super(message); this.kind = kind; this.status = status; }
}

async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (state.token) headers.set("Authorization", `Bearer ${state.token}`);
  let response;
  try {
    response = await fetch(path, { ...options, headers });
  } catch (e) {
    throw new ApiError("offline", "emoget is not reachable. Is `emoget serve` still running?", 0);
  }
  if (response.status === 204) return null;
  let body = null;
  try { body = await response.json(); } catch (e) { /* not JSON */ }
  if (!response.ok) {
    throw new ApiError((body && body.kind) || "internal", (body && body.error) || `HTTP ${response.status}`, response.status);
  }
  return body;
}

async function submit(path, fields) {
  const form = new FormData();
  form.append("image", state.photo, state.photoName || "photo.jpg");
  for (const [k, v] of Object.entries(fields)) {
    for (const item of [].concat(v)) form.append(k, String(item));
  }
  const { id } = await api(path, { method: "POST", body: form });
  state.jobs.add(id);
  return id;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(id, onProgress) {
  for (let delay = 250; ; delay = Math.min(delay * 1.3, 1000)) {
    const job = await api(`/api/jobs/${id}`);
    if (onProgress) onProgress(job);
    if (job.status === "done") return job;
    if (job.status === "failed") throw new ApiError(job.error_kind || "internal", job.error || "failed", 200);
    await sleep(delay);
  }
}

// --------------------------------------------------------------------------- banner --

const FRIENDLY = {
  no_face: ["No face found.", "Try a brighter, front-facing selfie with the whole face in view."],
  bad_input: ["This file cannot be used.", null],
  too_large: ["This photo is too large.", null],
  usage: ["That choice is not possible.", null],
  busy: ["emoget is busy.", null],
  unauthorized: ["This page needs its key.", null],
  offline: ["Connection lost.", null],
  not_found: ["This result has expired.", "Results are deleted after a while: start over to make it again."],
};

function showError(err) {
  const [title, text] = FRIENDLY[err.kind] || ["Something went wrong.", null];
  const detail = (err.message || "").replace(/^photo: /, "");
  banner(title, text || detail.charAt(0).toUpperCase() + detail.slice(1), "error");
}

function banner(title, text, tone) {
  $("banner-title").textContent = title;
  $("banner-text").textContent = text || "";
  $("banner").className = `banner ${tone || ""}`;
  $("banner").hidden = false;
}

function clearBanner() { $("banner").hidden = true; }

// ---------------------------------------------------------------------------- steps --

function show(step) {
  for (const card of document.querySelectorAll("section.card")) card.hidden = card.dataset.step !== String(step);
  for (const li of $("steps").children) {
    const n = Number(li.dataset.step);
    li.classList.toggle("current", n === step);
    li.classList.toggle("done", n < step);
  }
  document.body.dataset.step = String(step);
  window.scrollTo({ top: 0, behavior: "smooth" });
}

// ---------------------------------------------------------------- step 1: the photo --

function formatBytes(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1).replace(/\.0$/, "")} MB`;
  return `${Math.max(1, Math.round(n / 1e3))} kB`;
}

async function usePhoto(blob, name) {
  clearBanner();
  const limit = state.options ? state.options.limits.max_upload_bytes : Infinity;
  if (blob.size > limit) {
    showError(new ApiError("too_large", `It is ${formatBytes(blob.size)}; the limit is ${formatBytes(limit)}.`));
    return;
  }
  if (blob.type && !blob.type.startsWith("image/")) {
    showError(new ApiError("bad_input", "Choose a photo (JPEG, PNG or WebP)."));
    return;
  }
  const epoch = ++state.epoch;
  state.photo = blob; state.photoName = name; state.style = null; state.expr = null; state.made.clear();
  if (state.photoUrl) URL.revokeObjectURL(state.photoUrl);
  state.photoUrl = URL.createObjectURL(blob);
  $("face-chip").src = state.photoUrl;
  renderStyleCards();
  show(2);
  try {
    const id = await submit("/api/previews", {});
    const job = await waitFor(id);
    if (epoch !== state.epoch) return;
    for (const r of job.results) {
      const card = document.querySelector(`#styles .choice[data-name="${CSS.escape(r.name.replace(/\.png$/, ""))}"]`);
      if (card) { const img = card.querySelector(".thumb"); img.src = r.url; img.classList.remove("skeleton"); }
    }
  } catch (err) {
    if (epoch !== state.epoch) return;
    show(1);
    showError(err);
  }
}

function renderStyleCards() {
  const grid = $("styles");
  grid.replaceChildren();
  const styles = state.options.styles.filter((s) => s.engine === "classic");
  for (const s of styles) {
    const card = choiceCard(s.name, titleCase(s.name === "none" ? "photo" : s.name), s.description);
    card.addEventListener("click", () => {
      select(grid, card); state.style = s.name; $("to-3").disabled = false;
    });
    grid.append(card);
    if (s.name === state.options.default_style) { select(grid, card); state.style = s.name; }
  }
  $("to-3").disabled = !state.style;
}

function choiceCard(name, title, desc) {
  const card = document.createElement("button");
  card.type = "button"; card.className = "choice"; card.dataset.name = name;
  const img = document.createElement("img");
  img.className = "thumb skeleton"; img.alt = title;
  const t = document.createElement("div"); t.className = "name"; t.textContent = title;
  card.append(img, t);
  if (desc) { const d = document.createElement("div"); d.className = "desc"; d.textContent = desc; card.append(d); }
  return card;
}

function select(grid, card) {
  for (const c of grid.children) c.classList.toggle("selected", c === card);
}

const titleCase = (s) => s.charAt(0).toUpperCase() + s.slice(1);

function setupUpload() {
  const drop = $("drop");
  $("file").addEventListener("change", (e) => {
    const f = e.target.files[0];
    if (f) usePhoto(f, f.name);
    e.target.value = "";
  });
  for (const ev of ["dragenter", "dragover"]) drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add("over"); });
  for (const ev of ["dragleave", "drop"]) drop.addEventListener(ev, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    const f = e.dataTransfer.files[0];
    if (f) usePhoto(f, f.name);
  });
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") $("file").click(); });
  $("sample-btn").addEventListener("click", async () => {
    const r = await fetch("/sample.jpg");
    usePhoto(await r.blob(), "sample.jpg");
  });
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    $("camera-btn").hidden = false;
    $("camera-btn").addEventListener("click", startCamera);
  }
}

let stream = null;

async function startCamera() {
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: 1280, height: 960 }, audio: false });
  } catch (e) {
    banner("No camera.", "The browser gave no camera (none here, or permission refused). Choose a photo instead.", "error");
    return;
  }
  $("video").srcObject = stream;
  $("drop").hidden = true; $("camera").hidden = false;
}

function stopCamera() {
  if (stream) for (const t of stream.getTracks()) t.stop();
  stream = null; $("camera").hidden = true; $("drop").hidden = false;
}

function setupCamera() {
  $("camera-cancel").addEventListener("click", stopCamera);
  $("snap").addEventListener("click", () => {
    const video = $("video"), canvas = $("snapshot");
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob((blob) => { stopCamera(); if (blob) usePhoto(blob, "camera.jpg"); }, "image/jpeg", 0.92);
  });
}

// ---------------------------------------------------------- step 3: the expression --

function thumbExpressions() {
  return state.options.expressions.map((e) => e.name).filter((n) => n !== "neutral");
}

async function toExpressions() {
  clearBanner();
  show(3);
  const grid = $("exprs");
  grid.replaceChildren();
  $("to-4").disabled = true;
  const names = thumbExpressions();
  const descs = Object.fromEntries(state.options.expressions.map((e) => [e.name, e.description]));
  for (const name of names) {
    const card = choiceCard(name, LABELS[name] || titleCase(name), null);
    card.title = descs[name] || "";
    card.addEventListener("click", () => { select(grid, card); state.expr = name; $("to-4").disabled = false; });
    grid.append(card);
  }
  const pack = choiceCard("pack", "The whole pack", `${state.options.pack_expressions.length} emoticons and a zip`);
  pack.classList.add("pack-card");
  const mosaic = document.createElement("div"); mosaic.className = "thumb skeleton";
  pack.querySelector(".thumb").replaceWith(mosaic);
  pack.addEventListener("click", () => { select(grid, pack); state.expr = "pack"; $("to-4").disabled = false; });
  grid.append(pack);
  layoutExpressions();
  const epoch = state.epoch, style = state.style;
  // one job per CPU worker, so the thumbnails are made side by side
  const parts = Math.max(1, Math.min(state.options.limits.cpu_workers || 1, 4));
  const chunks = Array.from({ length: parts }, (_, i) => names.filter((_, j) => j % parts === i));
  const urls = {};
  const fill = () => {
    for (const card of grid.children) {
      const url = urls[card.dataset.name], img = card.querySelector("img.thumb");
      if (url && img && img.classList.contains("skeleton")) { img.src = url; img.classList.remove("skeleton"); }
    }
    if (mosaic.childElementCount === 0 && state.options.pack_expressions.every((n) => urls[n])) {
      for (const name of state.options.pack_expressions) {
        const img = document.createElement("img"); img.src = urls[name]; img.alt = ""; mosaic.append(img);
      }
      const zip = document.createElement("div"); zip.className = "zip"; zip.textContent = ".zip"; mosaic.append(zip);
      mosaic.classList.remove("skeleton");
      fitMosaic();
    }
  };
  try {
    await Promise.all(chunks.filter((c) => c.length).map(async (chunk) => {
      const id = await submit("/api/jobs", { style, expr: chunk.join(","), size: THUMB.size, frames: THUMB.frames });
      const job = await waitFor(id);
      if (epoch !== state.epoch || style !== state.style) return;
      for (const r of job.results) {
        const m = r.name.match(/-([a-z_]+)\.gif$/);
        if (m) urls[m[1]] = r.url;
      }
      fill();
    }));
  } catch (err) {    if (epoch === state.epoch) showError(err);
  }
}

// the pack's mosaic is as tall as one expression thumbnail, so the grid's rows line up
function fitMosaic() {
  const mosaic = document.querySelector("#exprs .pack-card .thumb");
  const single = document.querySelector("#exprs .choice:not(.pack-card) .thumb");
  if (mosaic && single && single.offsetHeight) mosaic.style.height = `${single.offsetHeight}px`;
}
// on a wide screen, as many columns (5..7) as fill every row: n thumbnails + the pack (2 wide)
function layoutExpressions() {
  const grid = $("exprs"), cells = grid.childElementCount + 1;
  const cols = [6, 5, 7].find((c) => cells % c === 0) || 6;
  grid.style.gridTemplateColumns = window.innerWidth >= 900 ? `repeat(${cols}, 1fr)` : "";
  fitMosaic();
}
window.addEventListener("resize", layoutExpressions);

// --------------------------------------------------------------- step 4: the result --

function baseFields() {
  const f = { style: state.style };
  if (state.expr === "pack") f.pack = "true"; else f.expr = state.expr;
  return f;
}

function setProgress(job, what) {
  const { done, total } = job.progress || { done: 0, total: 1 };
  let pct = 8, text = `Making ${what}…`;
  if (job.status === "queued") {
    text = job.queue_position ? `Waiting for a free worker (${job.queue_position} ahead)…` : "Starting…";
    pct = 4;
  } else if (job.status === "running") {
    pct = 12 + 80 * (total ? done / total : 0);
    if (total > 1) text = `Making ${what}… ${done} of ${total}`;
  } else if (job.status === "done") {
    pct = 100; text = "Done";
  }
  $("bar-fill").style.width = `${pct}%`;
  $("progress-text").textContent = text;
}

async function toResult() {
  clearBanner();
  show(4);
  const pack = state.expr === "pack";
  $("result-title").textContent = pack ? "Your emoticon pack" : `Your ${(LABELS[state.expr] || state.expr).toLowerCase()} emoticon`;
  $("result").hidden = true; $("progress").hidden = false;
  setProgress({ status: "queued" }, "");
  const epoch = state.epoch, key = `${state.style}|${state.expr}`;
  state.mainKey = key;
  try {
    const id = await submit("/api/jobs", baseFields());
    const job = await waitFor(id, (j) => { if (state.mainKey === key) setProgress(j, pack ? "your pack" : "your emoticon"); });
    if (epoch !== state.epoch || state.mainKey !== key) return;
    state.made.set(`${key}|gif`, job);
    renderResult(job, pack);
  } catch (err) {
    if (epoch !== state.epoch) return;
    $("progress").hidden = true;
    showError(err);
  }
}

function renderResult(job, pack) {
  const stage = $("stage");
  stage.replaceChildren();
  $("result").classList.toggle("pack", pack);
  stage.classList.toggle("pack", pack);
  for (const r of job.results.filter((r) => r.name.endsWith(".gif"))) {
    const img = document.createElement("img");
    img.src = r.url; img.alt = r.name; img.id = pack ? "" : "result-image";
    if (pack) {
      const fig = document.createElement("figure"); const cap = document.createElement("figcaption");
      const m = r.name.match(/-([a-z_]+)\.gif$/);
      cap.textContent = m ? (LABELS[m[1]] || m[1]) : r.name;
      fig.append(img, cap); stage.append(fig);
    } else stage.append(img);
  }
  const buttons = $("format-buttons");
  buttons.replaceChildren();
  const labels = Object.fromEntries(state.options.formats.map((f) => [f.name, f.label]));
  for (const fmt of FORMATS_OFFERED) {
    const b = document.createElement("button");
    b.type = "button"; b.className = fmt === "gif" ? "btn primary" : "btn"; b.dataset.format = fmt;
    b.textContent = pack ? `${fmt.toUpperCase()} pack (.zip)` : (fmt === "apng" ? "APNG" : fmt.toUpperCase());
    b.title = labels[fmt] || fmt;
    b.addEventListener("click", () => download(b, { format: fmt }));
    buttons.append(b);
  }
  const gif = job.results.find((r) => r.name.endsWith(pack ? ".zip" : ".gif"));
  if (gif) buttons.firstChild.append(sizeTag(gif.bytes));
  $("pack-btn").hidden = pack;
  $("adjust-note").textContent = "";
  const caption = document.createElement("p");
  caption.className = "fine caption";
  caption.textContent = `Made in ${Number(job.seconds || 0).toFixed(1)} s · kept for ${Math.round(job.expires_in / 60)} min`;
  stage.after(caption);
  for (const old of document.querySelectorAll(".caption")) if (old !== caption) old.remove();
  $("progress").hidden = true; $("result").hidden = false;
}

function sizeTag(bytes) {
  const s = document.createElement("span"); s.className = "size"; s.textContent = formatBytes(bytes);
  return s;
}

function pickFile(job, extra) {
  const results = job.results;
  if (extra.pack === "true" || state.expr === "pack") return results.find((r) => r.name.endsWith(".zip"));
  const suffix = extra.preset ? null : SUFFIX[extra.format || "gif"];
  return results.find((r) => !r.name.endsWith(".zip") && !r.name.endsWith("-sheet.png") && (!suffix || r.name.endsWith(suffix)));
}

async function download(button, extra) {
  if (button.classList.contains("busy")) return;
  clearBanner();
  const fields = { ...baseFields(), ...extra };
  const key = `${state.style}|${state.expr}|${extra.format || ""}|${extra.preset || ""}|${extra.pack || ""}`;
  button.classList.add("busy"); button.disabled = true;
  try {
    let job = state.made.get(key) || (extra.format === "gif" && !extra.preset ? state.made.get(`${state.style}|${state.expr}|gif`) : null);
    if (!job) {
      const id = await submit("/api/jobs", fields);
      job = await waitFor(id);
      state.made.set(key, job);
    }
    const file = pickFile(job, fields);
    if (!file) throw new ApiError("internal", "the job made no file to download", 200);
    const exprPart = state.expr === "pack" || extra.pack ? "pack" : state.expr;
    const name = `emoget-${state.style}-${exprPart}${extra.preset ? "-" + extra.preset : ""}${file.name.slice(file.name.lastIndexOf("."))}`;
    const a = document.createElement("a");
    a.href = file.url; a.download = name; document.body.append(a); a.click(); a.remove();
    if (job.adjustments && job.adjustments.length) $("adjust-note").textContent = `Fitted to the limits: ${job.adjustments.join("; ")}`;
  } catch (err) {
    showError(err);
  } finally {
    button.classList.remove("busy"); button.disabled = false;
  }
}

function setupResult() {
  const select = $("preset");
  for (const p of state.options.presets) {
    const o = document.createElement("option");
    o.value = p.name; o.textContent = titleCase(p.name); select.append(o);
  }
  const note = () => {
    const p = state.options.presets.find((x) => x.name === select.value);
    $("preset-note").textContent = p ? p.description.replaceAll("<=", "≤") : "";
  };
  select.addEventListener("change", note); note();
  $("preset-btn").addEventListener("click", () => download($("preset-btn"), { preset: select.value }));
  $("pack-btn").addEventListener("click", () => download($("pack-btn"), { pack: "true" }));
  $("delete-btn").addEventListener("click", deleteEverything);
  $("restart").addEventListener("click", () => { state.epoch++; clearBanner(); show(1); });
}

async function deleteEverything() {
  const ids = [...state.jobs];
  state.jobs.clear(); state.made.clear(); state.epoch++;
  await Promise.allSettled(ids.map((id) => api(`/api/jobs/${id}`, { method: "DELETE" })));
  state.photo = null;
  show(1);
  banner("Deleted.", "Everything made from your photo is gone from the server.", "info");
}

// ------------------------------------------------------------------------------ start --

async function main() {
  readToken();
  $("banner-close").addEventListener("click", clearBanner);
  for (const b of document.querySelectorAll("[data-back]")) b.addEventListener("click", () => { clearBanner(); show(Number(b.dataset.back)); });
  $("to-3").addEventListener("click", toExpressions);
  $("to-4").addEventListener("click", toResult);
  setupUpload();
  setupCamera();
  show(1);
  try {
    state.options = await api("/api/options");
  } catch (err) {
    showError(err);
    return;
  }
  $("limits").textContent = `JPEG, PNG or WebP · up to ${formatBytes(state.options.limits.max_upload_bytes)}`;
  $("keep-min").textContent = Math.round(state.options.limits.keep_seconds / 60);
  setupResult();
  document.body.dataset.ready = "1";
}

main();
