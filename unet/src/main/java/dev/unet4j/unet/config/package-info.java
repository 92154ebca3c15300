/**
 * UNet {@code config.json} files read into typed configs with diffusers' defaults, every value checked.
 */
package dev.unet4j.unet.config;
