"""The browser export: the generator as ONNX, onnxruntime-web and a page (see convert.py)."""
