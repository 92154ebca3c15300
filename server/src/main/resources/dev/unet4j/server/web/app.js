// unet4j web page: POST /v1/generate, then read /v1/generate/{id}/events (server-sent events) with fetch so the
// Authorization header can be sent (EventSource cannot send headers). No build step, no dependencies.
"use strict";

const $ = (id) => document.getElementById(id);
let models = [];
let current = null; // {id, controller}

function headers(json) {
  const h = {};
  if (json) h["Content-Type"] = "application/json";
  const key = $("api_key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function status(text, error) {
  $("status").textContent = text;
  $("status").classList.toggle("error", !!error);
}

async function loadModels() {
  const r = await fetch("/v1/models", { headers: headers(false) });
  if (!r.ok) { status("cannot list models: " + r.status + (r.status === 401 ? " (enter the API key)" : ""), true); return; }
  models = (await r.json()).data.map((m) => m.unet4j);
  $("model").innerHTML = "";
  for (const m of models) $("model").add(new Option(m.name, m.name));
  applyModel();
}

function applyModel() {
  const m = models.find((x) => x.name === $("model").value);
  if (!m) return;
  $("width").value = m.width; $("height").value = m.height;
  $("steps").value = m.steps; $("guidance").value = m.guidance;
  $("sampler").innerHTML = "";
  for (const s of m.samplers) $("sampler").add(new Option(s, s, s === m.defaultSampler, s === m.defaultSampler));
  $("prompt").placeholder = m.promptHint;
  // class-conditional models take no negative prompt; pipelines choose their feature cache when loaded
  const classModel = m.kind === "class-conditional";
  $("negative_prompt").disabled = classModel;
  $("cache").disabled = !classModel;
  if (!classModel) $("cache").value = "none";
  if (classModel) $("negative_prompt").value = "";
}

function request() {
  const num = (id) => Number($(id).value);
  return {
    model: $("model").value, prompt: $("prompt").value, negative_prompt: $("negative_prompt").value,
    width: num("width"), height: num("height"), steps: num("steps"), guidance: num("guidance"),
    seed: num("seed"), sampler: $("sampler").value, batch_size: num("batch_size"),
    ...($("cache").disabled ? {} : { cache: $("cache").value }),
  };
}

async function generate(ev) {
  ev.preventDefault();
  const body = request();
  $("generate").disabled = true;
  $("status").dataset.steps = "";
  $("progress").value = 0;
  status("queued");
  try {
    const r = await fetch("/v1/generate", { method: "POST", headers: headers(true), body: JSON.stringify(body) });
    const j = await r.json();
    if (!r.ok) { status(j.error ? j.error.message : "error " + r.status, true); return; }
    current = { id: j.id, seed: j.seed, body, controller: new AbortController() };
    $("cancel").disabled = false;
    await follow(current);
  } catch (e) {
    if (e.name !== "AbortError") status(String(e), true);
  } finally {
    $("generate").disabled = false;
    $("cancel").disabled = true;
    current = null;
  }
}

// Reads the event stream: "event: NAME" and "data: JSON" lines, events separated by a blank line.
async function follow(job) {
  const h = headers(false);
  h["Accept"] = "text/event-stream";
  const r = await fetch("/v1/generate/" + job.id + "/events", { headers: h, signal: job.controller.signal });
  if (!r.ok) { status("event stream: " + r.status, true); return; }
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (!data) continue;
      const e = JSON.parse(data);
      if (name === "progress") onProgress(e);
      else if (name === "done") { onDone(job, e); return; }
      else if (name === "error") { status(e.message, true); return; }
    }
  }
}

function onProgress(e) {
  $("progress").value = e.fraction;
  const seen = $("status").dataset.steps;
  $("status").dataset.steps = seen ? seen + "," + e.step : String(e.step);
  status(e.state === "queued" ? "queued" : "step " + e.step + " / " + e.total);
  if (e.preview) { $("preview").src = e.preview; $("preview").hidden = false; }
}

function onDone(job, e) {
  // progress events carry the latest state, so a run that ends between two of them reports its last step here
  const seen = $("status").dataset.steps;
  if (!seen.split(",").includes(String(e.step))) $("status").dataset.steps = seen ? seen + "," + e.step : String(e.step);
  $("progress").value = 1;
  status("done: " + e.images.length + " image(s)");
  for (const img of e.images) {
    const fig = document.createElement("figure");
    const el = document.createElement("img");
    el.src = "data:image/png;base64," + img.b64_json;
    el.className = "result";
    el.dataset.seed = img.seed;
    const cap = document.createElement("figcaption");
    const b = job.body;
    cap.textContent = `${b.prompt} | ${b.model} ${img.width}x${img.height} ${b.sampler} ${b.steps} steps, guidance ${b.guidance}, seed ${img.seed}` +
      (b.cache && b.cache !== "none" ? ", cache " + b.cache : "");
    fig.append(el, cap);
    $("gallery").prepend(fig);
  }
}

async function cancel() {
  if (!current) return;
  await fetch("/v1/generate/" + current.id, { method: "DELETE", headers: headers(false) });
}

async function health() {
  try {
    const r = await fetch("/healthz");
    const j = await r.json();
    $("health").textContent = `${j.running} running, ${j.queued} queued`;
  } catch (e) { $("health").textContent = "server unreachable"; }
}

$("form").addEventListener("submit", generate);
$("cancel").addEventListener("click", cancel);
$("model").addEventListener("change", applyModel);
$("api_key").addEventListener("change", loadModels);
loadModels();
health();
setInterval(health, 5000);
