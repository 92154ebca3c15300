/**
 * The CLIP text transformer's modules (embeddings, attention, MLP, encoder layers), one class per transformers module.
 */
package dev.unet4j.text.nn;
