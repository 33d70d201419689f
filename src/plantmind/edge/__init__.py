"""The edge node service: wires a source, the detectors, the alert tracker and the store."""
