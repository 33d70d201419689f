"""Image inspection: models trained from good images only (synthetic defects, no pretrained
weights), thresholds from good images, ONNX export and the onnxruntime edge runtime, station
results and operator review."""
