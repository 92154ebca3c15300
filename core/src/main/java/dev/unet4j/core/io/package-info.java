/**
 * The safetensors format: a bounds-checked reader ({@link dev.unet4j.core.io.SafetensorsFile}, header and whole
 * metadata map), an atomic writer, the element types (F32, F16, BF16, FP8, integers) and their decoders.
 */
package dev.unet4j.core.io;
