/**
 * A UNet traced into an ONNX graph ({@link dev.unet4j.bench.onnx.OnnxTracer}) with a minimal protobuf writer, so that
 * ONNX Runtime can run the very same weights side by side with unet4j.
 */
package dev.unet4j.bench.onnx;
