// Reading a drawn digit in the browser: pad.js (the vision pipeline's canvas path, in JavaScript) and the
// server's default model on onnxruntime-web (static/ort/, vendored). The model, its SHA-256, its calibration
// temperature, the reject threshold and pad.js's parameters all come from the server (GET api/browser),
// so both sides read with one set of numbers.
//
//   const reader = await loadBrowserReader();          // throws ReaderUnavailable with the reason
//   const { result, handOff } = await reader.read(rgba, 200, 200);
//
// `result` has the shape of the server's answer (prediction, confidence, digits with box and
// probabilities, note, model, inputs). `handOff` (a sentence) says the server should read this
// drawing instead: more than one digit, a case pad.js does not reproduce exactly, or a digit the
// classifier is not sure of (the server then also asks its line reader, which the browser lacks).
import * as ort from "./ort/ort.wasm.min.mjs";
import { preparePad } from "./pad.js";

export class ReaderUnavailable extends Error {}

export async function loadBrowserReader() {
  // Service workers, crypto.subtle and installing the app all need a secure context.
  if (!window.isSecureContext || !crypto.subtle) {
    throw new ReaderUnavailable("Reading in your browser needs a secure connection (HTTPS, or this machine as "
      + "localhost); this page reads on the server.");
  }
  const config = await fetchJson("api/browser");
  const bytes = await fetchBytes(config.model.url);
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  if (hex(digest) !== config.model.sha256) {
    throw new ReaderUnavailable("The model file did not match its checksum; this page reads on the server.");
  }
  ort.env.wasm.numThreads = 1; // a 28×28 digit is too small for worker threads (and they need isolation)
  ort.env.wasm.wasmPaths = new URL("./ort/", import.meta.url).href;
  let session;
  try {
    session = await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: ["wasm"] });
  } catch (error) {
    throw new ReaderUnavailable(`The model could not start in this browser (${error.message}); reading on the server.`);
  }
  return new BrowserReader(config, session);
}

class BrowserReader {
  constructor(config, session) {
    this.config = config;
    this.session = session;
    this.modelName = config.model.name;
  }

  async read(rgba, width, height) {
    const prepared = preparePad(rgba, width, height, this.config.pad);
    if (prepared.kind === "server") return { handOff: prepared.reason };
    if (prepared.kind === "blank") {
      return { result: { prediction: "", confidence: 0, digits: [], note: prepared.note, model: this.modelName } };
    }
    const input = new ort.Tensor("float32", prepared.input, [1, 28, 28]);
    const outputs = await this.session.run({ [this.session.inputNames[0]]: input });
    const probabilities = calibrated(outputs[this.session.outputNames[0]].data, this.config.model.temperature);
    let digit = 0;
    probabilities.forEach((value, index) => { if (value > probabilities[digit]) digit = index; });
    const confidence = probabilities[digit];
    const sure = confidence >= this.config.model.reject_below;
    const result = {
      prediction: sure ? String(digit) : "",
      confidence,
      digits: [{ digit, confidence, box: prepared.box, probabilities }],
      model: this.modelName,
      inputs: [inputImage(prepared.input)],
    };
    if (!sure) result.note = "low confidence; not read";
    // Not sure: the server reads the drawing with its line reader too (recognize.combined_reading).
    return sure ? { result } : { result, handOff: "The digit is unclear; the server reads it with its line reader too." };
  }
}

// Recognizer._probabilities: softmax(log p / T) rounded to float32 as apply_temperature returns it, then
// normalised to sum 1 in double precision.
function calibrated(raw, temperature) {
  let values = Array.from(raw, (value) => Math.max(value, 0));
  if (temperature !== 1) {
    const logits = values.map((value) => Math.log(Math.min(Math.max(value, 1e-12), 1)) / temperature);
    const top = Math.max(...logits);
    const exponentials = logits.map((value) => Math.exp(value - top));
    const total = exponentials.reduce((sum, value) => sum + value, 0);
    values = exponentials.map((value) => Math.fround(value / total));
  }
  const sum = Math.max(values.reduce((total, value) => total + value, 0), 1e-12);
  return values.map((value) => value / sum);
}

// What the model saw, as the server shows it (serve.dependencies.png_data_url): 28×28, ink bright.
function inputImage(input) {
  const canvas = document.createElement("canvas");
  canvas.width = 28;
  canvas.height = 28;
  const context = canvas.getContext("2d");
  const image = context.createImageData(28, 28);
  for (let index = 0; index < 784; index += 1) {
    const level = Math.round(Math.min(Math.max(input[index], 0), 1) * 255);
    image.data.set([level, level, level, 255], index * 4);
  }
  context.putImageData(image, 0, 0);
  return canvas.toDataURL("image/png");
}

async function fetchJson(url) {
  const response = await fetch(url);
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ReaderUnavailable((body && typeof body.detail === "string") ? body.detail
      : `The server answered ${response.status} for ${url}.`);
  }
  return body;
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new ReaderUnavailable(`The server answered ${response.status} for ${url}.`);
  return response.arrayBuffer();
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
