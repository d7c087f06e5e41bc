// The page of pix2pix_tf.serve: draw or open an input, POST it to /translate,
// show the output beside it. No framework and no build step.
"use strict";

const canvas = document.getElementById("canvas");
const ctx = canvas.getContext("2d", {willReadFrequently: true});
const output = document.getElementById("output");
const colourInput = document.getElementById("colour");
const brushSize = document.getElementById("brush-size");
const fileInput = document.getElementById("file");
const translateButton = document.getElementById("translate");
const undoButton = document.getElementById("undo");
const downloadLink = document.getElementById("download");
const errorBox = document.getElementById("error");
const statusLine = document.getElementById("status");
const drop = document.getElementById("drop");

// Opened images are sent at their own size (the server resizes them as the
// REST API does), their longer side at most this.
const MAX_SENT = 1024;
const MAX_UNDO = 30;
const KINDS = {labels: "facade label maps", edges: "edge drawings", photo: "photos",
               unknown: "unknown (no examples to judge from)"};

// Set from /info: the model's input domain.
let background = "#ffffff";
let colour = "#000000";
let smooth = true;  // Label maps are scaled without smoothing: a blend of labels is no label.
let half = null;  // The half of an A|B pair the model takes: "left", "right" or null.

// What "translate" sends: the opened image made square, or null once drawn
// on: then the canvas, as PNG.
let source = null;
let opened = null;  // {image, name, split}: the image on the canvas, made square again when "fit" changes.
let inputName = "drawing";
const history = [];

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function clearError() {
  errorBox.hidden = true;
  errorBox.textContent = "";
}

function checked(name) {
  return document.querySelector(`input[name=${name}]:checked`).value;
}

// ---------------------------------------------------------------- undo

function remember() {
  history.push({pixels: ctx.getImageData(0, 0, canvas.width, canvas.height), source, opened,
                inputName, status: statusLine.textContent});
  if (history.length > MAX_UNDO) history.shift();
  undoButton.disabled = false;
}

function undo() {
  const state = history.pop();
  if (!state) return;
  ctx.putImageData(state.pixels, 0, 0);
  ({source, opened, inputName} = state);
  statusLine.textContent = state.status;
  undoButton.disabled = history.length === 0;
}

undoButton.addEventListener("click", undo);
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key === "z" && !event.shiftKey) {
    event.preventDefault();
    undo();
  }
});

// ---------------------------------------------------------------- drawing

function drawn() {
  source = opened = null;
  inputName = "drawing";
}

function fill(fillColour) {
  remember();
  ctx.fillStyle = fillColour;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  drawn();
  statusLine.textContent = "";
}

// Square stamps at whole pixels: no anti-aliasing, so label maps keep only
// the palette's colours.
function stamp(x, y) {
  const width = Number(brushSize.value);
  ctx.fillStyle = checked("tool") === "eraser" ? background : colour;
  ctx.fillRect(Math.round(x - width / 2), Math.round(y - width / 2), width, width);
}

function line(from, to) {
  const steps = Math.max(Math.abs(to.x - from.x), Math.abs(to.y - from.y), 1);
  for (let i = 0; i <= steps; i++) {
    stamp(from.x + (to.x - from.x) * i / steps, from.y + (to.y - from.y) * i / steps);
  }
}

function canvasPoint(event) {
  const rect = canvas.getBoundingClientRect();
  return {x: (event.clientX - rect.left) * canvas.width / rect.width,
          y: (event.clientY - rect.top) * canvas.height / rect.height};
}

let last = null;
canvas.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  canvas.setPointerCapture(event.pointerId);
  remember();
  last = canvasPoint(event);
  stamp(last.x, last.y);
  drawn();
});
canvas.addEventListener("pointermove", (event) => {
  if (last === null) return;
  const point = canvasPoint(event);
  line(last, point);
  last = point;
});
for (const name of ["pointerup", "pointercancel"]) {
  canvas.addEventListener(name, () => { last = null; });
}

function selectColour(value, swatch) {
  colour = value;
  colourInput.value = value;
  document.querySelector("input[name=tool][value=pen]").checked = true;
  for (const other of document.querySelectorAll(".swatch")) {
    other.classList.toggle("selected", other === swatch);
    other.setAttribute("aria-pressed", String(other === swatch));
  }
}

function addSwatch(name, value) {
  const swatch = document.createElement("button");
  swatch.type = "button";
  swatch.className = "swatch";
  swatch.dataset.colour = value;
  swatch.dataset.name = name;
  const chip = document.createElement("span");
  chip.className = "chip";
  chip.style.background = value;
  swatch.append(chip, name);
  swatch.addEventListener("click", () => selectColour(value, swatch));
  colourInput.parentElement.before(swatch);
  return swatch;
}

colourInput.addEventListener("input", () => selectColour(colourInput.value, null));
document.getElementById("clear").addEventListener("click", () => fill(background));
document.getElementById("fill").addEventListener("click", () => fill(colour));

// ---------------------------------------------------------------- opening images

// The square canvas an opened image becomes: the model's half of an A|B pair
// (as the server takes the examples' halves), then cropped or padded with the
// background to a square, centred.
function square(image, split) {
  let width = image.width, left = 0;
  const pair = split && half !== null && width >= 1.5 * image.height;
  if (pair) {
    width = Math.floor(width / 2);
    left = half === "left" ? 0 : width;
  }
  const height = image.height, crop = checked("fit") === "crop";
  const side = crop ? Math.min(width, height) : Math.max(width, height);
  const scale = Math.min(1, MAX_SENT / side);
  const result = document.createElement("canvas");
  result.width = result.height = Math.round(side * scale);
  const context = result.getContext("2d");
  context.imageSmoothingEnabled = smooth;
  context.fillStyle = background;
  context.fillRect(0, 0, result.width, result.height);
  if (crop) {
    context.drawImage(image, left + Math.floor((width - side) / 2), Math.floor((height - side) / 2),
                      side, side, 0, 0, result.width, result.height);
  } else {
    context.drawImage(image, left, 0, width, height, Math.floor((side - width) / 2) * scale,
                      Math.floor((side - height) / 2) * scale, width * scale, height * scale);
  }
  let note = `${image.width}x${image.height}`;
  if (pair) note += `, an A|B pair: its ${half} half`;
  if (width !== height) note += `, ${crop ? "cropped" : "padded"} to ${side}x${side}`;
  return {result, note};
}

function pngOf(element) {
  return new Promise((resolve) => element.toBlob(resolve, "image/png"));
}

async function showOpened() {
  const {result, note} = square(opened.image, opened.split);
  ctx.imageSmoothingEnabled = smooth;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(result, 0, 0, canvas.width, canvas.height);
  source = null;
  const png = await pngOf(result);
  if (opened === null) return;  // Drawn on meanwhile.
  source = png;
  statusLine.textContent = `${opened.name}: ${note}`;
}

// Opens `blob` onto the canvas; false (the page as it was, and an error
// shown) if the browser cannot read it as an image.
async function openImage(blob, name, split = true) {
  let image;
  try {
    image = await createImageBitmap(blob);
  } catch (e) {
    showError(`cannot open ${name}: not an image this browser reads`);
    return false;
  }
  remember();
  opened = {image, name, split};
  inputName = name.replace(/\.[^.]*$/, "");
  await showOpened();
  clearError();
  return true;
}

async function openFile(file) {
  // The picker is an action, not a state: it is emptied so that the same
  // file can be opened again, and the status line names what is shown.
  fileInput.value = "";
  if (file) await openImage(file, file.name);
}

fileInput.addEventListener("change", (event) => openFile(event.target.files[0]));
for (const radio of document.querySelectorAll("input[name=fit]")) {
  radio.addEventListener("change", () => { if (opened) showOpened(); });
}

// Dropping a file anywhere else must not navigate away from the page.
for (const name of ["dragover", "drop"]) {
  window.addEventListener(name, (event) => event.preventDefault());
}
drop.addEventListener("dragover", () => drop.classList.add("dragging"));
drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
drop.addEventListener("drop", (event) => {
  drop.classList.remove("dragging");
  openFile(event.dataTransfer.files[0]);
});

// ---------------------------------------------------------------- translating

function showOutput(image) {
  if (output.src) URL.revokeObjectURL(output.src);
  if (image === null) {
    output.removeAttribute("src");
    downloadLink.removeAttribute("href");
    downloadLink.setAttribute("aria-disabled", "true");
    return;
  }
  output.src = downloadLink.href = URL.createObjectURL(image);
  downloadLink.download = `${inputName}-pix2pix.${image.type === "image/jpeg" ? "jpg" : "png"}`;
  downloadLink.removeAttribute("aria-disabled");
}

async function translate() {
  translateButton.disabled = true;
  statusLine.textContent = "translating...";
  const started = performance.now();
  try {
    const body = source || await pngOf(canvas);
    let response;
    try {
      response = await fetch("/translate", {method: "POST", body: body});
    } catch (e) {
      throw new Error("cannot reach the server: is it still running?");
    }
    if (!response.ok) {
      let message = response.statusText;
      try {
        message = (await response.json()).error;
      } catch (e) { /* Not JSON: keep the status text. */ }
      throw new Error(`the server answered ${response.status}: ${message}`);
    }
    showOutput(await response.blob());
    await output.decode();
    output.dataset.count = Number(output.dataset.count) + 1;
    clearError();
    statusLine.textContent = `translated in ${Math.round(performance.now() - started)} ms`;
  } catch (e) {
    // No output beside an input it does not come from.
    showOutput(null);
    showError(e.message);
    statusLine.textContent = "";
  } finally {
    translateButton.disabled = false;
  }
}

translateButton.addEventListener("click", translate);

function addExample(example) {
  const button = document.createElement("button");
  button.type = "button";
  button.title = example.name;
  const image = document.createElement("img");
  image.src = example.url;
  image.alt = example.name;
  button.append(image);
  button.addEventListener("click", async () => {
    const blob = await (await fetch(example.url)).blob();
    // Examples are already the model's half of their pairs.
    if (await openImage(blob, example.name, false)) await translate();
  });
  document.getElementById("examples").append(button);
}

// ---------------------------------------------------------------- start

// The palette, pen and background of the model's input domain (see the
// server's input_domain): label maps draw in their labels on the background
// label; edges in black on white (or white on black); the rest in any colour on white.
function setUpDomain(input) {
  background = input.background || "#ffffff";
  half = input.half;
  smooth = input.kind !== "labels";
  const palette = input.kind === "labels" ? input.labels :
      [{name: "black", colour: "#000000"}, {name: "white", colour: "#ffffff"}];
  const pen = palette.find((entry) => entry.colour !== background);
  for (const entry of palette) {
    const swatch = addSwatch(entry.name, entry.colour);
    if (entry === pen) selectColour(entry.colour, swatch);
  }
  canvas.parentElement.style.background = background;
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
}

async function init() {
  let info;
  try {
    const response = await fetch("/info");
    info = await response.json();
    if (!response.ok) throw new Error(info.error);
  } catch (e) {
    showError(`cannot load the model's description: ${e.message}`);
    return;
  }
  canvas.width = canvas.height = info.size;
  document.documentElement.style.setProperty("--shown-size", `${Math.max(info.size, 256)}px`);
  document.getElementById("model-info").textContent =
      `${info.model} version ${info.version}, ${info.size}x${info.size}, input: ${KINDS[info.input.kind]}`;
  document.body.dataset.kind = info.input.kind;
  setUpDomain(info.input);
  info.examples.forEach(addExample);
  document.getElementById("examples-section").hidden = info.examples.length === 0;
  if (info.input.kind === "labels" && info.examples.length > 0) {
    // A label map is hard to start from nothing: the first example is the start.
    const first = info.examples[0];
    await openImage(await (await fetch(first.url)).blob(), first.name, false);
    history.length = 0;
    undoButton.disabled = true;
  }
  document.body.dataset.ready = "true";
}

init();
