/**
 * Images in and out: {@link dev.unet4j.core.image.Image} (8-bit RGB/grey, grids, conversion from [-1, 1] tensors),
 * PNG reading and writing, Lanczos resampling as PIL does it.
 */
package dev.unet4j.core.image;
