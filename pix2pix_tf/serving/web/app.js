// The page of pix2pix_tf.serve: draw or load an input, POST it to /translate,
// show the output beside it. No framework and no build step.
"use strict";

const canvas = document.getElementById("canvas");
const ctx = canvas.getContext("2d");
const output = document.getElementById("output");
const colourInput = document.getElementById("colour");
const brushSize = document.getElementById("brush-size");
const translateButton = document.getElementById("translate");
const againButton = document.getElementById("again");
const errorBox = document.getElementById("error");
const statusLine = document.getElementById("status");
const drop = document.getElementById("drop");

const WHITE = "#ffffff";
let colour = "#000000";
// What "translate" sends: a loaded file as it is (the server resizes it like
// the REST API does), or null once drawn on: then the canvas, as PNG.
let source = null;
let lastInput = null;  // What the last translation sent, for "sample again".

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function clearError() {
  errorBox.hidden = true;
  errorBox.textContent = "";
}

function tool() {
  return document.querySelector("input[name=tool]:checked").value;
}

function fill(fillColour) {
  ctx.fillStyle = fillColour;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  source = null;
}

// Square stamps at whole pixels: no anti-aliasing, so label maps keep only
// the palette's colours.
function stamp(x, y) {
  const width = Number(brushSize.value);
  ctx.fillStyle = tool() === "eraser" ? WHITE : colour;
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
  last = canvasPoint(event);
  stamp(last.x, last.y);
  source = null;
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
  }
}

function addSwatch(name, value) {
  const swatch = document.createElement("button");
  swatch.type = "button";
  swatch.className = "swatch";
  swatch.title = name;
  swatch.style.background = value;
  swatch.dataset.colour = value;
  swatch.addEventListener("click", () => selectColour(value, swatch));
  colourInput.parentElement.before(swatch);
  return swatch;
}

colourInput.addEventListener("input", () => selectColour(colourInput.value, null));
document.getElementById("clear").addEventListener("click", () => fill(WHITE));
document.getElementById("fill").addEventListener("click", () => fill(colour));

async function loadImage(blob, name) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch (e) {
    showError(`cannot read ${name} as an image`);
    return false;
  }
  fill(WHITE);
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  statusLine.textContent = `${name}: ${bitmap.width}x${bitmap.height}`;
  bitmap.close();
  source = blob;
  clearError();
  return true;
}

document.getElementById("file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (file) loadImage(file, file.name);
});

// Dropping a file anywhere else must not navigate away from the page.
for (const name of ["dragover", "drop"]) {
  window.addEventListener(name, (event) => event.preventDefault());
}
drop.addEventListener("dragover", () => drop.classList.add("dragging"));
drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
drop.addEventListener("drop", (event) => {
  drop.classList.remove("dragging");
  const file = event.dataTransfer.files[0];
  if (file) loadImage(file, file.name);
});

function canvasBlob() {
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

async function send(body) {
  translateButton.disabled = againButton.disabled = true;
  statusLine.textContent = "translating...";
  const started = performance.now();
  try {
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
    const image = await response.blob();
    if (output.src) URL.revokeObjectURL(output.src);
    output.src = URL.createObjectURL(image);
    await output.decode();
    output.dataset.count = Number(output.dataset.count) + 1;
    clearError();
    statusLine.textContent = `translated in ${Math.round(performance.now() - started)} ms`;
  } catch (e) {
    showError(e.message);
    statusLine.textContent = "";
  } finally {
    translateButton.disabled = false;
    againButton.disabled = lastInput === null;
  }
}

translateButton.addEventListener("click", async () => {
  lastInput = source || await canvasBlob();
  await send(lastInput);
});
againButton.addEventListener("click", () => send(lastInput));

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
    if (await loadImage(blob, example.name)) translateButton.click();
  });
  document.getElementById("examples").append(button);
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
      `${info.model} version ${info.version}, ${info.size}x${info.size}`;
  fill(WHITE);
  info.palette.forEach((entry, i) => {
    const swatch = addSwatch(entry.name, entry.colour);
    if (i === 0) swatch.classList.add("selected");
  });
  info.examples.forEach(addExample);
  document.getElementById("examples-section").hidden = info.examples.length === 0;
  document.body.dataset.ready = "true";
}

init();
