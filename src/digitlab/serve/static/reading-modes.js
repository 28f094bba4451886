// Where a drawing is read: "in your browser" (browser-reader.js) or "on the server" (POST api/predict),
// the toggle that chooses, the time each took, and what happens offline.
//
//   const modes = new ReadingModes(elements);
//   modes.start();                                         // loads the browser reader, registers the service worker
//   const { result, where } = await modes.readDrawing(canvas, modelName, readOnServer);
//
// The default is the browser once its reader has loaded, the server until then (or when it cannot load:
// no secure context, a model that is no ONNX file, a checksum that does not match; the status line
// says which). A drawing the browser hands off (more than one digit, a case pad.js does not reproduce
// exactly, an unclear digit) goes to the server, when the server can be reached. Photos always go to
// the server (app.js). Offline, the browser reads what it can and says what needs the server.
import { loadBrowserReader } from "./browser-reader.js";

export class ReadingModes {
  constructor(elements) {
    this.ui = elements; // {browser, server, status, latency, banner}
    this.reader = null;
    this.mode = "server";
    this.chosen = false; // the user pressed a toggle: no automatic switch afterwards
    this.latency = { browser: null, server: null };
    this.online = navigator.onLine;
    this.ui.browser.addEventListener("click", () => this.choose("browser"));
    this.ui.server.addEventListener("click", () => this.choose("server"));
    window.addEventListener("online", () => this.setOnline(true));
    window.addEventListener("offline", () => this.setOnline(false));
    this.onChange = () => {};
  }

  async start() {
    this.setOnline(navigator.onLine);
    if (window.isSecureContext && "serviceWorker" in navigator) {
      // Relative: the worker sits next to the page, so its scope is the page's folder (--root-path too).
      navigator.serviceWorker.register("sw.js").catch(() => {});
    }
    try {
      this.reader = await loadBrowserReader();
      this.ui.browser.disabled = false;
      this.status(`A drawn digit is read in your browser (model: ${this.reader.modelName}), offline too; `
        + "photos and numbers of several digits are read on the server.");
      if (!this.chosen || !this.online) this.setMode("browser");
    } catch (error) {
      this.status(error.message || "The in-browser reader could not load; drawings are read on the server.");
      this.setMode("server");
    }
  }

  choose(mode) {
    this.chosen = true;
    this.setMode(mode);
    this.onChange();
  }

  setMode(mode) {
    this.mode = mode === "browser" && this.reader ? "browser" : "server";
    this.ui.browser.setAttribute("aria-pressed", String(this.mode === "browser"));
    this.ui.server.setAttribute("aria-pressed", String(this.mode === "server"));
  }

  setOnline(online) {
    this.online = online;
    this.ui.banner.hidden = online;
    document.documentElement.classList.toggle("offline", !online);
    if (!online && this.reader) this.setMode("browser");
  }

  status(text) {
    this.ui.status.textContent = text;
  }

  showLatency(where, milliseconds) {
    this.latency[where] = milliseconds;
    const shown = Object.entries(this.latency).filter(([, value]) => value !== null)
      .map(([name, value]) => `${name === "browser" ? "in your browser" : "on the server"} ${formatMs(value)}`);
    this.ui.latency.textContent = shown.length ? `Last reading: ${shown.join(" · ")}` : "";
  }

  // The drawing on `canvas` read where the toggle says; `readOnServer()` posts it and returns the answer.
  // `modelName`: the model picked in the page, null for the server's default (the list did not load).
  async readDrawing(canvas, modelName, readOnServer) {
    const inBrowser = this.mode === "browser" && this.reader
      && (modelName === null || modelName === this.reader.modelName);
    if (this.mode === "browser" && this.reader && !inBrowser) {
      this.status(`Your browser reads with ${this.reader.modelName} only; ${modelName} reads on the server.`);
    }
    if (!inBrowser) return { result: await this.timedServer(readOnServer), where: "server" };
    const started = performance.now();
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    const { result, handOff } = await this.reader.read(pixels.data, canvas.width, canvas.height);
    this.showLatency("browser", performance.now() - started);
    if (!handOff) return { result, where: "browser" };
    if (!this.online) {
      if (result) return { result, where: "browser" };
      throw new Error(`${handOff} The server cannot be reached offline.`);
    }
    try {
      return { result: await this.timedServer(readOnServer), where: "server", handOff };
    } catch (error) {
      if (result) return { result, where: "browser" }; // the server is gone: the browser's own reading
      throw error;
    }
  }

  async timedServer(readOnServer) {
    const started = performance.now();
    const result = await readOnServer();
    this.showLatency("server", performance.now() - started);
    return result;
  }
}

function formatMs(milliseconds) {
  return milliseconds < 10 ? `${milliseconds.toFixed(1)} ms` : `${Math.round(milliseconds)} ms`;
}
