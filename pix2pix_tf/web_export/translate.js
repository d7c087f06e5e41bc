// Translates images in the browser with a generator exported by
// `--mode export --export_format web`, on onnxruntime-web's WebAssembly backend.
//
//   import { loadTranslator } from "./translate.js";
//   const translator = await loadTranslator();          // the folder of this module
//   const output = await translator.translate(imageData); // ImageData -> ImageData
//
// Pixels follow the server's export: an input of any size is resized to the
// model's crop size; transparent pixels are put on white; the output's bytes
// are TensorFlow's float -> uint8 conversion of the generator's output.
import * as ort from "./ort/ort.wasm.min.mjs";

const HERE = new URL(".", import.meta.url);

// The weights' file: "float32" (model.onnx) or "float16" (model_float16.onnx).
const MODEL_FILES = { float32: "model.onnx", float16: "model_float16.onnx" };

export async function loadTranslator({ base = HERE, weights = "float32" } = {}) {
  const root = new URL(base, location.href);
  if (!(weights in MODEL_FILES)) throw new Error(`unknown weights ${weights}`);
  ort.env.wasm.wasmPaths = new URL("ort/", root).href;
  const response = await fetch(new URL("pix2pix.json", root));
  if (!response.ok) throw new Error(`cannot read pix2pix.json: ${response.status}`);
  const info = await response.json();
  const session = await ort.InferenceSession.create(new URL(MODEL_FILES[weights], root).href,
                                                    { executionProviders: ["wasm"] });
  return {
    info,
    backend: "wasm",
    translate: (imageData) => translate(session, info, imageData),
  };
}

// ImageData of any size -> ImageData of the crop size.
async function translate(session, info, imageData) {
  const size = info.crop_size;
  const pixels = resized(imageData, size).data;
  const input = new Float32Array(size * size * 3);  // RGB in, RGB out (no Lab models).
  for (let i = 0; i < size * size; i++) {
    const alpha = pixels[4 * i + 3] / 255;
    for (let c = 0; c < 3; c++) {
      input[3 * i + c] = ((pixels[4 * i + c] / 255) * alpha + (1 - alpha)) * 2 - 1;
    }
  }
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", input, [1, size, size, 3]) };
  const result = (await session.run(feeds))[session.outputNames[0]];
  const output = await result.getData();
  const out = new ImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    for (let c = 0; c < 3; c++) out.data[4 * i + c] = toByte(output[3 * i + c]);
    out.data[4 * i + 3] = 255;
  }
  result.dispose();
  return out;
}

// tf.image.convert_image_dtype(clip((y + 1) / 2), uint8, saturate=True).
function toByte(y) {
  const v = Math.min(1, Math.max(0, (y + 1) / 2));
  return Math.min(255, Math.trunc(v * 255.5));
}

function resized(imageData, size) {
  if (imageData.width === size && imageData.height === size) return imageData;
  const source = new OffscreenCanvas(imageData.width, imageData.height);
  source.getContext("2d").putImageData(imageData, 0, 0);
  const target = new OffscreenCanvas(size, size).getContext("2d");
  target.imageSmoothingQuality = "high";
  target.drawImage(source, 0, 0, size, size);
  return target.getImageData(0, 0, size, size);
}
