// digitlab web app: draw or upload a digit, see the prediction and what the model saw.
// Plain JavaScript modules, no build step. A drawing is read in the browser (reading-modes.js:
// pad.js, the JavaScript twin of the server's canvas path, and the server's model on
// onnxruntime-web) or sent as a PNG to /api/predict, where it goes through exactly the
// preprocessing that photos and `digitlab predict` use. Photos always go to the server.
// Every URL is relative to the page ("api/predict", not "/api/predict"), so the app also
// works behind a reverse proxy under a path prefix (example.org/digits/).
import { paintStroke, paintStrokes } from "./pad.js";
import { ReadingModes } from "./reading-modes.js";

// The drawing is sent as an EXPORT_SIZE² PNG, dark ink on transparent. The server reads a
// drawing on an even canvas at 200 px at most (vision/canvas.py, DRAWING_MAX_SIDE), so a
// bigger PNG would only cost upload and decoding time.
const EXPORT_SIZE = 200;
const LIVE_DELAY_MS = 200; // live prediction while drawing, at most this often

const $ = (id) => document.getElementById(id);
const ui = {
  modelSelect: $("model-select"), modelAccuracy: $("model-accuracy"), footerModel: $("footer-model"),
  tabs: [$("tab-draw"), $("tab-photo")], panels: { draw: $("panel-draw"), photo: $("panel-photo") },
  pad: $("pad"), drawStage: $("draw-stage"), drawBoxes: $("draw-boxes"),
  penWidth: $("pen-width"), undo: $("undo"), clear: $("clear"),
  dropzone: $("dropzone"), dropMessage: $("drop-message"), photoFrame: $("photo-frame"), photo: $("photo"),
  photoBoxes: $("photo-boxes"), fileInput: $("file-input"), cameraInput: $("camera-input"), fileName: $("file-name"),
  message: $("message"), answer: document.querySelector(".answer"), prediction: $("prediction"),
  confidence: $("confidence"), chips: $("digit-chips"), bars: $("bars"), inputs: $("inputs"),
};
const modes = new ReadingModes({
  browser: $("mode-browser"), server: $("mode-server"), status: $("reader-status"), latency: $("reader-latency"),
  banner: $("offline-banner"),
});

const state = {
  mode: "draw",
  model: null, // null: the server's default
  maxUploadBytes: 10 * 1024 * 1024,
  strokes: [], // each {width, points: [[x, y], ...]} in 0..1 of the pad's width/height
  current: null,
  photoFile: null,
  photoUrl: null,
  results: { draw: null, photo: null },
  errors: { draw: null, photo: null },
  selectedDigit: 0,
  sequence: { draw: 0, photo: 0 }, // answers to older requests are dropped
  inFlight: false,
  again: false,
  timer: null,
};

// ---------- the API ----------

async function apiPredict(blob, filename) {
  const form = new FormData();
  form.append("file", blob, filename);
  const params = new URLSearchParams({ inputs: "true" });
  if (state.model) params.set("model", state.model);
  let response;
  try {
    response = await fetch(`api/predict?${params}`, { method: "POST", body: form });
  } catch (error) {
    throw new Error("Could not reach the digitlab server; is `digitlab serve` still running?");
  }
  let body = null;
  try { body = await response.json(); } catch (error) { /* not JSON: handled below */ }
  if (!response.ok) {
    throw new Error((body && typeof body.detail === "string") ? body.detail : `The server answered ${response.status}.`);
  }
  return body;
}

async function loadModels() {
  try {
    const [modelsResponse, healthResponse] = await Promise.all([fetch("api/models"), fetch("api/health")]);
    const { default: defaultName, models } = await modelsResponse.json();
    const health = await healthResponse.json();
    state.maxUploadBytes = health.max_upload_mb * 1024 * 1024;
    ui.modelSelect.replaceChildren(...models.map((model) => {
      const option = new Option(modelLabel(model), model.name, model.name === defaultName, model.name === defaultName);
      option.dataset.accuracy = model.test_accuracy ?? "";
      option.dataset.architecture = model.architecture ?? "";
      option.dataset.source = model.source;
      return option;
    }));
    state.model = defaultName;
    showModelInfo();
  } catch (error) {
    // Offline (or the server is gone): drawings are read with the in-browser model, the server's default.
    state.model = null;
    ui.modelSelect.replaceChildren(new Option(navigator.onLine ? "unavailable" : "offline"));
    if (navigator.onLine) showMessage("Could not load the list of models from the server.");
  }
}

function modelLabel(model) {
  const kind = model.source === "shipped" ? "shipped" : model.architecture || model.source;
  return `${model.name} (${kind})`;
}

function showModelInfo() {
  const option = ui.modelSelect.selectedOptions[0];
  if (!option) return;
  const accuracy = option.dataset.accuracy;
  ui.modelAccuracy.textContent = accuracy ? `Test accuracy ${percent(Number(accuracy), 2)}` : "";
  ui.footerModel.textContent = `Model: ${option.value}${option.dataset.architecture ? ` · ${option.dataset.architecture}` : ""}`;
}

ui.modelSelect.addEventListener("change", () => {
  state.model = ui.modelSelect.value;
  showModelInfo();
  // The same input, read again by the newly chosen model.
  if (state.mode === "draw" && state.strokes.length) predictDrawingNow();
  if (state.mode === "photo" && state.photoFile) predictPhoto(state.photoFile);
});

// ---------- showing a result ----------

function percent(value, digits = 1) {
  return `${(value * 100).toFixed(digits)} %`;
}

function showMessage(text) {
  ui.message.textContent = text;
  ui.message.hidden = !text;
}

function render() {
  const result = state.results[state.mode];
  const error = state.errors[state.mode];
  showMessage(error || "");
  drawBoxes(state.mode === "draw" ? ui.drawBoxes : ui.photoBoxes, result);
  ui.prediction.classList.remove("unsure");
  ui.prediction.dataset.readIn = (result && result.readIn) || (result ? "server" : "");
  ui.prediction.dataset.strokes = (result && result.strokes) || 0;
  ui.prediction.dataset.settled = String(Boolean(result && result.settled));
  if (!result) {
    ui.prediction.textContent = "–";
    ui.prediction.classList.add("unsure");
    if (error) ui.confidence.textContent = "Nothing read.";
    else ui.confidence.textContent = state.mode === "draw" ? "Draw a digit to start." : "Choose or drop a photo to start.";
    ui.chips.hidden = true;
    renderBars(null);
    ui.inputs.replaceChildren(paragraph("Nothing yet.", "empty"));
    return;
  }
  const digits = result.digits || [];
  if (!digits.length) {
    ui.prediction.textContent = "–";
    ui.prediction.classList.add("unsure");
    ui.confidence.textContent = "No digit found. Write larger or darker, on a plain background.";
  } else if (!result.prediction) {
    ui.prediction.textContent = digits.map((digit) => digit.digit).join("");
    ui.prediction.classList.add("unsure");
    ui.confidence.replaceChildren(
      "Not sure: ", strong(percent(result.confidence)), " confident, below the threshold for an answer.");
  } else {
    ui.prediction.textContent = result.prediction;
    ui.confidence.replaceChildren(strong(percent(result.confidence)), " confident");
  }
  state.selectedDigit = Math.min(state.selectedDigit, Math.max(digits.length - 1, 0));
  renderChips(digits);
  renderBars(digits[state.selectedDigit] || null);
  renderInputs(result);
}

function strong(text) {
  const element = document.createElement("strong");
  element.textContent = text;
  return element;
}

function paragraph(text, className) {
  const element = document.createElement("p");
  element.textContent = text;
  element.className = className;
  return element;
}

function renderChips(digits) {
  ui.chips.hidden = digits.length < 2;
  ui.chips.replaceChildren(...digits.map((digit, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = digit.digit;
    button.setAttribute("aria-pressed", String(index === state.selectedDigit));
    button.setAttribute("aria-label", `Digit ${index + 1}: ${digit.digit}, show its probabilities`);
    button.addEventListener("click", () => { state.selectedDigit = index; render(); });
    return button;
  }));
}

function renderBars(digit) {
  const probabilities = digit ? digit.probabilities : new Array(10).fill(0);
  const top = digit ? digit.digit : -1;
  ui.bars.replaceChildren(...probabilities.map((probability, index) => {
    const item = document.createElement("li");
    if (index === top) item.className = "top";
    item.innerHTML = `<span class="label">${index}</span><span class="track"><span class="fill"></span></span><span class="value"></span>`;
    item.querySelector(".fill").style.width = `${(probability * 100).toFixed(1)}%`;
    item.querySelector(".value").textContent = digit ? percent(probability) : "";
    item.setAttribute("aria-label", digit ? `${index}: ${percent(probability)}` : `${index}`);
    return item;
  }));
}

function renderInputs(result) {
  const digits = result.digits || [];
  if (!digits.length || !result.inputs) {
    ui.inputs.replaceChildren(paragraph("Nothing to show.", "empty"));
    return;
  }
  ui.inputs.replaceChildren(...digits.map((digit, index) => {
    const figure = document.createElement("figure");
    const image = new Image(28, 28);
    image.src = result.inputs[index];
    image.alt = `Model input ${index + 1}, read as ${digit.digit}`;
    const caption = document.createElement("figcaption");
    caption.append(strong(String(digit.digit)), ` · ${percent(digit.confidence, 0)}`);
    figure.append(image, caption);
    return figure;
  }));
}

// The boxes live in an SVG whose viewBox is the sent image's pixel size, so they
// scale with the picture on any screen.
function drawBoxes(svg, result) {
  const size = svg === ui.drawBoxes ? [EXPORT_SIZE, EXPORT_SIZE] : [ui.photo.naturalWidth || 1, ui.photo.naturalHeight || 1];
  svg.setAttribute("viewBox", `0 0 ${size[0]} ${size[1]}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.replaceChildren();
  const digits = (result && result.digits) || [];
  if (digits.length < 2 && svg === ui.drawBoxes) return; // one drawn digit needs no box
  const fontSize = Math.max(size[0], size[1]) * 0.045;
  const ns = "http://www.w3.org/2000/svg";
  for (const digit of digits) {
    const [x0, y0, x1, y1] = digit.box;
    const rect = document.createElementNS(ns, "rect");
    Object.entries({ x: x0, y: y0, width: x1 - x0, height: y1 - y0, rx: fontSize * 0.15 })
      .forEach(([key, value]) => rect.setAttribute(key, value));
    const tag = document.createElementNS(ns, "rect");
    const tagY = Math.max(y0 - fontSize * 1.3, 0);
    Object.entries({ x: x0, y: tagY, width: fontSize * 1.2, height: fontSize * 1.3, class: "tag", rx: fontSize * 0.15 })
      .forEach(([key, value]) => tag.setAttribute(key, value));
    const label = document.createElementNS(ns, "text");
    Object.entries({ x: x0 + fontSize * 0.6, y: tagY + fontSize * 1.0, "font-size": fontSize, "text-anchor": "middle" })
      .forEach(([key, value]) => label.setAttribute(key, value));
    label.textContent = digit.digit;
    svg.append(rect, tag, label);
  }
}

// ---------- sending an input and receiving its answer ----------

async function predictBlob(mode, blob, filename) {
  const sequence = ++state.sequence[mode];
  ui.answer.classList.add("busy");
  try {
    const result = await apiPredict(blob, filename);
    if (sequence !== state.sequence[mode]) return;
    state.results[mode] = result;
    state.errors[mode] = null;
  } catch (error) {
    if (sequence !== state.sequence[mode]) return;
    state.results[mode] = null;
    state.errors[mode] = error.message;
  } finally {
    if (sequence === state.sequence[mode]) ui.answer.classList.remove("busy");
  }
  if (mode === state.mode) render();
}

// ---------- the drawing pad ----------

const pad = ui.pad;
const context = pad.getContext("2d");

function resizePad() {
  const ratio = window.devicePixelRatio || 1;
  const { width, height } = pad.getBoundingClientRect();
  pad.width = Math.max(1, Math.round(width * ratio));
  pad.height = Math.max(1, Math.round(height * ratio));
  paint(context, pad.width, pad.height, "#111318");
}

function paint(target, width, height, color) {
  paintStrokes(target, state.strokes, width, height, color);
}

function padPoint(event) {
  const rect = pad.getBoundingClientRect();
  return [
    Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 1),
    Math.min(Math.max((event.clientY - rect.top) / rect.height, 0), 1),
  ];
}

pad.addEventListener("pointerdown", (event) => {
  if (event.pointerType === "mouse" && event.button !== 0) return;
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  state.current = { width: Number(ui.penWidth.value) / EXPORT_SIZE, points: [padPoint(event)], pointerId: event.pointerId };
  state.strokes.push(state.current);
  paint(context, pad.width, pad.height, "#111318");
  drawingChanged(false);
});

pad.addEventListener("pointermove", (event) => {
  if (!state.current || event.pointerId !== state.current.pointerId) return;
  event.preventDefault();
  const from = state.current.points.length;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const each of (events.length ? events : [event])) state.current.points.push(padPoint(each));
  paintStroke(context, state.current, pad.width, pad.height, from);
  scheduleLivePrediction();
});

function endStroke(event) {
  if (!state.current || event.pointerId !== state.current.pointerId) return;
  state.current = null;
  predictDrawingNow();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

ui.undo.addEventListener("click", undo);
ui.clear.addEventListener("click", clearDrawing);
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z" && state.mode === "draw") {
    event.preventDefault();
    undo();
  }
});

function undo() {
  if (!state.strokes.length) return;
  state.strokes.pop();
  paint(context, pad.width, pad.height, "#111318");
  drawingChanged(true);
}

function clearDrawing() {
  state.strokes = [];
  paint(context, pad.width, pad.height, "#111318");
  drawingChanged(true);
}

function drawingChanged(predict) {
  const hasInk = state.strokes.length > 0;
  ui.drawStage.classList.toggle("has-ink", hasInk);
  ui.undo.disabled = !hasInk;
  ui.clear.disabled = !hasInk;
  if (!hasInk) {
    state.sequence.draw += 1; // drop answers still on their way
    clearTimeout(state.timer);
    state.timer = null;
    state.results.draw = null;
    state.errors.draw = null;
    render();
  } else if (predict) {
    predictDrawingNow();
  }
}

function scheduleLivePrediction() {
  if (state.timer === null) state.timer = setTimeout(sendDrawing, LIVE_DELAY_MS);
}

function predictDrawingNow() {
  clearTimeout(state.timer);
  state.timer = null;
  sendDrawing();
}

// One reading at a time: strokes drawn meanwhile are read when it returns.
async function sendDrawing() {
  state.timer = null;
  if (!state.strokes.length) return;
  if (state.inFlight) { state.again = true; return; }
  state.inFlight = true;
  try {
    await readDrawing(exportDrawing());
  } finally {
    state.inFlight = false;
  }
  if (state.again) { state.again = false; sendDrawing(); }
}

async function readDrawing(canvas) {
  const sequence = ++state.sequence.draw;
  // Which drawing this reading is of: its strokes, and whether one was still being drawn (a live reading).
  const strokes = state.strokes.length;
  const settled = state.current === null;
  ui.answer.classList.add("busy");
  const onServer = async () => apiPredict(await new Promise((resolve) => canvas.toBlob(resolve, "image/png")),
    "drawing.png");
  try {
    const { result, where } = await modes.readDrawing(canvas, state.model, onServer);
    if (sequence !== state.sequence.draw) return;
    Object.assign(result, { readIn: where, strokes, settled }); // shown, and hooks for the tests
    state.results.draw = result;
    state.errors.draw = null;
  } catch (error) {
    if (sequence !== state.sequence.draw) return;
    state.results.draw = null;
    state.errors.draw = error.message;
  } finally {
    if (sequence === state.sequence.draw) ui.answer.classList.remove("busy");
  }
  if (state.mode === "draw") render();
}

// The drawing as the server receives it: EXPORT_SIZE² pixels, black ink on transparent.
function exportDrawing() {
  const canvas = document.createElement("canvas");
  canvas.width = EXPORT_SIZE;
  canvas.height = EXPORT_SIZE;
  paint(canvas.getContext("2d", { willReadFrequently: true }), EXPORT_SIZE, EXPORT_SIZE, "#000000");
  return canvas;
}

new ResizeObserver(resizePad).observe(pad);

// ---------- photos: choose, take or drop ----------

function handleFile(file) {
  if (!file) return;
  selectTab("photo");
  ui.fileName.textContent = file.name;
  if (file.size > state.maxUploadBytes) {
    state.results.photo = null;
    state.errors.photo = `${file.name} is ${(file.size / 1048576).toFixed(1)} MB, larger than the limit of ${(state.maxUploadBytes / 1048576).toFixed(0)} MB; send a smaller image.`;
    showPhoto(null);
    render();
    return;
  }
  state.photoFile = file;
  showPhoto(file);
  predictPhoto(file);
}

function showPhoto(file) {
  if (state.photoUrl) URL.revokeObjectURL(state.photoUrl);
  state.photoUrl = file ? URL.createObjectURL(file) : null;
  ui.photoFrame.hidden = true;
  ui.dropMessage.hidden = false;
  ui.dropzone.classList.remove("has-photo");
  ui.photoBoxes.replaceChildren();
  if (!file) return;
  ui.photo.onload = () => {
    ui.photoFrame.hidden = false;
    ui.dropMessage.hidden = true;
    ui.dropzone.classList.add("has-photo");
    if (state.mode === "photo") render(); // the boxes need the photo's size
  };
  ui.photo.onerror = () => { ui.photoFrame.hidden = true; };
  ui.photo.src = state.photoUrl;
}

function predictPhoto(file) {
  state.selectedDigit = 0;
  predictBlob("photo", file, file.name);
}

for (const input of [ui.fileInput, ui.cameraInput]) {
  input.addEventListener("change", () => {
    handleFile(input.files[0]);
    input.value = ""; // choosing the same file again still triggers a prediction
  });
}

// Dropping a file anywhere on the page reads it (and never navigates away).
let dragDepth = 0;
document.addEventListener("dragenter", (event) => {
  if (!event.dataTransfer || !Array.from(event.dataTransfer.types).includes("Files")) return;
  dragDepth += 1;
  selectTab("photo");
  ui.dropzone.classList.add("dragging");
});
document.addEventListener("dragleave", () => {
  dragDepth = Math.max(dragDepth - 1, 0);
  if (!dragDepth) ui.dropzone.classList.remove("dragging");
});
document.addEventListener("dragover", (event) => event.preventDefault());
document.addEventListener("drop", (event) => {
  event.preventDefault();
  dragDepth = 0;
  ui.dropzone.classList.remove("dragging");
  const file = event.dataTransfer && event.dataTransfer.files[0];
  if (file) handleFile(file);
});

// ---------- tabs (WAI-ARIA tabs pattern: arrow keys move between them) ----------

function selectTab(mode) {
  state.mode = mode;
  for (const tab of ui.tabs) {
    const selected = tab.id === `tab-${mode}`;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  ui.panels.draw.hidden = mode !== "draw";
  ui.panels.photo.hidden = mode !== "photo";
  state.selectedDigit = 0;
  render();
}

ui.tabs.forEach((tab, index) => {
  tab.addEventListener("click", () => selectTab(tab.id.slice(4)));
  tab.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    const next = ui.tabs[(index + (event.key === "ArrowRight" ? 1 : ui.tabs.length - 1)) % ui.tabs.length];
    next.focus();
    selectTab(next.id.slice(4));
  });
});

render();
loadModels();
// The same drawing, read again where the toggle now says.
modes.onChange = () => { if (state.mode === "draw" && state.strokes.length) predictDrawingNow(); };
modes.start();
