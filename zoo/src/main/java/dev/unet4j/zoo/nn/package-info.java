/** Layers shared by the zoo models: convolutions of any rank, inference norms, activations. */
package dev.unet4j.zoo.nn;
