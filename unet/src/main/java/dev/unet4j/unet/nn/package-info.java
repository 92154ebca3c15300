/**
 * The UNet's modules, one class per diffusers module (ResnetBlock2D, Transformer2D, attention, up/down blocks),
 * assembled into a graph of named nodes ({@link dev.unet4j.unet.nn.UNetGraph}).
 */
package dev.unet4j.unet.nn;
