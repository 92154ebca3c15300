/**
 * EDM sampling (Karras et al. 2022) with its preconditioning.
 */
package dev.unet4j.samplers.edm;
